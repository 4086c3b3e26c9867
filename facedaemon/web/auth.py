"""Who may see the cameras: HTTP Basic (users with hashed passwords) or bearer tokens, on every route but /healthz.

Basic auth works in every browser and player (VLC, ffplay: http://user:pass@host/hls/...), and the browser sends
it again with the page's fetch() calls, so the live player needs nothing extra. Passwords are checked with
werkzeug's constant-time hash check; a verified credential is remembered (by its SHA-256) so an HLS player polling
every second does not cost a password hash each time. Failed attempts are rate-limited per client address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from flask import Flask, Response, g, request
from werkzeug.security import check_password_hash

from facedaemon.config.models import AuthConfig

log = logging.getLogger(__name__)

PUBLIC_PATHS = ("/healthz",)
FAILURE_WINDOW = 60.0
REMEMBERED = 256  # verified credentials kept per worker


@dataclass
class FailureLimiter:
    """At most `limit` failures per client in the window; pure given the clock."""

    limit: int
    window: float = FAILURE_WINDOW
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def blocked_for(self, client: str, now: float) -> float:
        """Seconds until the client may try again; 0 when it may try now."""
        with self._lock:
            times = self._trim(client, now)
            return 0.0 if len(times) < self.limit else times[0] + self.window - now

    def failed(self, client: str, now: float) -> None:
        with self._lock:
            self._trim(client, now).append(now)
            if len(self._failures) > 10_000:  # a scan from many addresses: forget the quietest
                for key in [k for k, v in self._failures.items() if not v][:5_000]:
                    del self._failures[key]

    def _trim(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times


class Authenticator:
    def __init__(self, config: AuthConfig) -> None:
        self.users = dict(config.users)
        self.tokens = tuple(config.tokens)
        self.public_metrics = config.public_metrics
        self.limiter = FailureLimiter(config.max_failures)
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def check_basic(self, user: str, password: str) -> bool:
        key = hashlib.sha256(f"{user}\0{password}".encode()).digest()
        with self._lock:
            if key in self._verified:
                self._verified.move_to_end(key)
                return True
        hashed = self.users.get(user)
        # Hash even for an unknown user so response time does not tell which user names exist.
        ok = check_password_hash(hashed or DUMMY_HASH, password) and hashed is not None
        if ok:
            with self._lock:
                self._verified[key] = None
                while len(self._verified) > REMEMBERED:
                    self._verified.popitem(last=False)
        return ok

    def check_token(self, token: str) -> bool:
        digest = hashlib.sha256(token.encode()).hexdigest()
        found = False
        for known in self.tokens:  # compare with every digest: time does not depend on which one matched
            found |= hmac.compare_digest(digest, known)
        return found

    def authorised(self) -> bool:
        auth = request.authorization
        if auth is None:
            return False
        if auth.type == "basic" and auth.username is not None and auth.password is not None:
            ok = self.check_basic(auth.username, auth.password)
            g.user = auth.username if ok else None
            return ok
        if auth.type == "bearer" and auth.token:
            ok = self.check_token(auth.token)
            g.user = f"token {hash_token(auth.token)[:8]}" if ok else None  # a digest prefix, never the token
            return ok
        return False

    def guard(self) -> Response | None:
        """before_request hook: None lets the request through."""
        if request.path in PUBLIC_PATHS or (self.public_metrics and request.path == "/metrics"):
            return None
        client = request.remote_addr or "?"
        now = time.monotonic()
        wait = self.limiter.blocked_for(client, now)
        if wait > 0:
            return _plain("too many failed logins; try again later", 429, {"Retry-After": str(int(wait) + 1)})
        if self.authorised():
            return None  # cross-site state changes were refused before (web/origin.py), login or not
        if request.authorization is not None:
            self.limiter.failed(client, now)
            log.warning("web: failed login from %s as %r for %r", client, _claimed_user()[:64], request.path)
        return _plain("login required", 401, {"WWW-Authenticate": 'Basic realm="facedaemon", charset="UTF-8"'})


def _claimed_user() -> str:
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        return auth.username or ""
    return f"({auth.type})" if auth is not None else ""


def _plain(text: str, status: int, headers: dict[str, str]) -> Response:
    return Response(text + "\n", status=status, headers=headers, mimetype="text/plain")


def install(app: Flask, config: AuthConfig) -> Authenticator:
    authenticator = Authenticator(config)
    app.before_request(authenticator.guard)
    return authenticator


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# A real hash of a random password: checking against it costs what checking a real user costs.
DUMMY_HASH = "scrypt:32768:8:1$OpS0ZbY5Qe2Sx1fT$" + "0" * 128
