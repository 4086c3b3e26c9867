"""Which sites may talk to us: a Host allowlist (DNS rebinding) and same-origin state changes (CSRF), login or not.

A page on another site can make the user's browser send requests here. Without a login nothing stops it from
writing, and a rebinding page (its own name resolving to this device) can even read. So, on every request:

- Host must be an IP address (a rebinding page always sends its own name), `localhost`, the listen host, or a
  name in `http.allowed_hosts`;
- a POST/PUT/PATCH/DELETE that a browser marks as coming from elsewhere (Origin, Referer or
  Sec-Fetch-Site) is refused. A request with none of them is not from a browser page (curl, scripts).
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from flask import Flask, Response, request

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOCAL_NAMES = frozenset({"localhost"})


def host_name(netloc: str) -> str:
    """'Example.COM:8080' -> 'example.com'; '[::1]:8080' -> '::1'; '' for nonsense."""
    try:
        parts = urlsplit(f"//{netloc}")
        return (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class SiteGuard:
    def __init__(self, allowed_hosts: frozenset[str]) -> None:
        self.allowed = frozenset(name.rstrip(".").lower() for name in allowed_hosts) | LOCAL_NAMES

    def host_allowed(self, host: str) -> bool:
        name = host_name(host)
        return bool(name) and (_is_ip(name) or name in self.allowed)

    def cross_site_reason(self) -> str | None:
        """Why this state change looks cross-site, or None if it may go ahead."""
        if request.method in SAFE_METHODS:
            return None
        own = host_name(request.host)
        if request.headers.get("Sec-Fetch-Site", "").lower() in ("cross-site", "same-site"):
            return "Sec-Fetch-Site " + request.headers["Sec-Fetch-Site"]
        for header in ("Origin", "Referer"):
            value = request.headers.get(header)
            if value is None:
                continue
            parts = urlsplit(value) if value != "null" else None
            if parts is None or parts.scheme not in ("http", "https") or host_name(parts.netloc) not in (
                    own, *self.allowed - LOCAL_NAMES) or _port(parts.netloc, parts.scheme) != _port(
                    request.host, request.scheme):
                return f"{header} {value!r}"
            return None  # the first header present decides (Origin is the precise one)
        return None

    def check(self) -> Response | None:
        """before_request hook: None lets the request through."""
        client = request.remote_addr or "?"
        if not self.host_allowed(request.host):
            log.warning("web: refused %s %r from %s: Host %r is not allowed (http.allowed_hosts)", request.method,
                        request.path, client, request.host)
            return _plain("host not allowed: add it to http.allowed_hosts", 403)
        reason = self.cross_site_reason()
        if reason is not None:
            log.warning("web: refused cross-site %s %r from %s (%s)", request.method, request.path, client, reason)
            return _plain("cross-origin request refused", 403)
        return None


def _port(netloc: str, scheme: str) -> int:
    try:
        port = urlsplit(f"//{netloc}").port
    except ValueError:
        return -1
    return port if port is not None else {"https": 443}.get(scheme, 80)


def _plain(text: str, status: int) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


def install(app: Flask, allowed_hosts: frozenset[str]) -> SiteGuard:
    guard = SiteGuard(allowed_hosts)
    app.before_request(guard.check)
    return guard
