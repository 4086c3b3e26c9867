"""Audit lines for state changes and refusals: one line each, naming the user and the client address.

The user is the login name (or `-` without login); never a password or a token. Person names are left out of
erasure lines on purpose: the journal outlives the erasure.
"""

from __future__ import annotations

import logging

from flask import g, request

log = logging.getLogger("facedaemon.web.audit")


def current_user() -> str:
    return str(g.get("user") or "-")


def audit(action: str, detail: str = "", *, level: int = logging.INFO) -> None:
    log.log(level, "audit: %s by %s from %s%s", action, current_user(), request.remote_addr or "?",
            f": {detail}" if detail else "")
