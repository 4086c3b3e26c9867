"""Who may see the cameras: HTTP Basic (users with hashed passwords) or bearer tokens, on every route but /healthz.

Basic auth works in every browser and player (VLC, ffplay: http://user:pass@host/hls/...), and the browser sends
it again with the page's fetch() calls, so the live player needs nothing extra. Passwords are checked with
werkzeug's constant-time hash check; a verified credential is remembered (by its SHA-256) so an HLS player polling
every second does not cost a password hash each time. Failed attempts are rate-limited per client address and
password checks globally, across all workers (web/limiter.py); behind a reverse proxy listed in
auth.trusted_proxies, the client is the last address in X-Forwarded-For that is not a proxy.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

from flask import Flask, Response, g, request
from werkzeug.security import check_password_hash

from facedaemon.config.auth import AuthConfig
from facedaemon.web.limiter import SharedLimiter

log = logging.getLogger(__name__)

PUBLIC_PATHS = ("/healthz",)
FAILURE_WINDOW = 60.0
REMEMBERED = 256  # verified credentials kept per worker


class Authenticator:
    def __init__(self, config: AuthConfig, state_dir: Path) -> None:
        self.users = dict(config.users)
        # (scope, digest); a bare digest is an admin token, as before scopes existed
        self.tokens = tuple((t.rpartition(":")[0] or "admin", t.rpartition(":")[2]) for t in config.tokens)
        self.public_metrics = config.public_metrics
        self.limiter = SharedLimiter(state_dir, config.max_failures, FAILURE_WINDOW, config.max_checks_per_second)
        self.proxies = tuple(ipaddress.ip_network(p, strict=False) for p in config.trusted_proxies)
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def check_basic(self, user: str, password: str, now: float | None = None) -> bool | None:
        """True/False; None when the global budget of password checks is spent (answer 429, hash nothing)."""
        key = hashlib.sha256(f"{user}\0{password}".encode()).digest()
        with self._lock:
            if key in self._verified:
                self._verified.move_to_end(key)
                return True
        if not self.limiter.take_check(time.time() if now is None else now):
            return None
        hashed = self.users.get(user)
        # Hash even for an unknown user so response time does not tell which user names exist.
        ok = check_password_hash(hashed or DUMMY_HASH, password) and hashed is not None
        if ok:
            with self._lock:
                self._verified[key] = None
                while len(self._verified) > REMEMBERED:
                    self._verified.popitem(last=False)
        return ok

    def check_token(self, token: str) -> str | None:
        """The token's scope, or None if it is not one of ours."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        found = None
        for scope, known in self.tokens:  # compare with every digest: time does not depend on which one matched
            if hmac.compare_digest(digest, known):
                found = scope
        return found

    def client(self) -> str:
        """The client's address: behind a trusted proxy, the last X-Forwarded-For hop that is not a proxy."""
        address = request.remote_addr or "?"
        if not self.proxies or not self._is_proxy(address):
            return address
        for hop in reversed([h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]):
            if not hop:
                continue
            if not self._is_proxy(hop):
                return hop[:64]
            address = hop
        return address

    def _is_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.proxies)

    def authorised(self) -> bool | None:
        auth = request.authorization
        if auth is None:
            return False
        if auth.type == "basic" and auth.username is not None and auth.password is not None:
            ok = self.check_basic(auth.username, auth.password)
            g.user = auth.username if ok else None
            return ok
        if auth.type == "bearer" and auth.token:
            scope = self.check_token(auth.token)
            g.user = f"token {hash_token(auth.token)[:8]}" if scope else None  # a digest prefix, never the token
            g.scope = scope
            return scope is not None
        return False

    def guard(self) -> Response | None:
        """before_request hook: None lets the request through."""
        if request.path in PUBLIC_PATHS or (self.public_metrics and request.path == "/metrics"):
            return None
        client = self.client()
        now = time.time()
        wait = self.limiter.blocked_for(client, now)
        if wait > 0:
            return _plain("too many failed logins; try again later", 429, {"Retry-After": str(int(wait) + 1)})
        verdict = self.authorised()
        if verdict is None:
            log.warning("web: login attempts over the budget of %g password checks/s; refused one from %s",
                        self.limiter.checks_per_second, client)
            return _plain("too many login attempts on this device; try again", 429, {"Retry-After": "1"})
        if verdict:
            # cross-site state changes were refused before (web/origin.py), login or not
            return _out_of_scope(g.get("scope") or "admin")
        if request.authorization is not None:
            self.limiter.failed(client, now)
            log.warning("web: failed login from %s as %r for %r", client, _claimed_user()[:64], request.path)
        return _plain("login required", 401, {"WWW-Authenticate": 'Basic realm="facedaemon", charset="UTF-8"'})


def _out_of_scope(scope: str) -> Response | None:
    """A `metrics` token reads /metrics only; a `read` token changes nothing (and may identify a photo); `admin`
    (and users) do anything."""
    if scope == "admin" or (scope == "metrics" and request.path == "/metrics") or (
            scope == "read" and (request.method in ("GET", "HEAD") or _reads_only())):
        return None
    log.warning("web: refused %s %r from %s: token scope %s", request.method, request.path, request.remote_addr,
                scope)
    return _plain(f"this token's scope ({scope}) does not allow this request", 403, {})


def _reads_only() -> bool:
    """POST /api/identify changes nothing (a photo in, names out): the one POST a `read` token may make."""
    return request.method == "POST" and request.path == "/api/identify"


def _claimed_user() -> str:
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        return auth.username or ""
    return f"({auth.type})" if auth is not None else ""


def _plain(text: str, status: int, headers: dict[str, str]) -> Response:
    return Response(text + "\n", status=status, headers=headers, mimetype="text/plain")


def install(app: Flask, config: AuthConfig, state_dir: Path) -> Authenticator:
    authenticator = Authenticator(config, state_dir)
    app.before_request(authenticator.guard)
    return authenticator


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# A real hash of a random password: checking against it costs what checking a real user costs.
DUMMY_HASH = "scrypt:32768:8:1$OpS0ZbY5Qe2Sx1fT$" + "0" * 128
