"""The `auth` section: who may log in to the page, HLS, API and /metrics (users, tokens, rate limits, proxies).

Only hashes are accepted, never a password or a token itself; `facedaemon hash-password` makes them.
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator

from facedaemon.config.base import Section

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
PASSWORD_HASH = re.compile(r"^(scrypt|pbkdf2):[^$]+\$[^$]+\$[0-9a-f]+$")  # werkzeug.security's format
TOKEN_SCOPES = ("read", "metrics", "admin")
MIN_SCRYPT = (16384, 8, 1)  # N, r, p: werkzeug's default is 32768, 8, 1
MIN_PBKDF2_ITERATIONS = 600_000
PBKDF2_DIGESTS = ("sha256", "sha512")


def weak_hash_reason(hashed: str) -> str | None:
    """Why a werkzeug hash is too cheap to check (1-iteration pbkdf2 guesses at millions a second), or None."""
    method = hashed.split("$", 1)[0].split(":")
    try:
        if method[0] == "scrypt":
            n, r, p = (int(x) for x in method[1:4])
            if n < MIN_SCRYPT[0] or r < MIN_SCRYPT[1] or p < MIN_SCRYPT[2]:
                return f"scrypt N={n} r={r} p={p}, need N >= {MIN_SCRYPT[0]}, r >= {MIN_SCRYPT[1]}"
            return None
        digest, iterations = method[1], int(method[2])
    except (IndexError, ValueError):
        return "unreadable parameters"
    if digest not in PBKDF2_DIGESTS or iterations < MIN_PBKDF2_ITERATIONS:
        return f"pbkdf2 {digest} with {iterations:,} iterations, need sha256 and >= {MIN_PBKDF2_ITERATIONS:,}"
    return None


class AuthConfig(Section):
    enabled: bool | None = Field(None, description="null: on exactly when http.listen is beyond loopback")
    users: dict[str, str] = Field(default_factory=dict,
                                  description="user name → password hash from `facedaemon hash-password`")
    tokens: tuple[str, ...] = Field((), description="sha256 hex digests of bearer tokens (`hash-password --token`), "
                                                    "each optionally prefixed by its scope: metrics:<digest> (only "
                                                    "/metrics), read:<digest> (no changes), admin:<digest> (default)")
    public_metrics: bool = Field(False, description="serve /metrics without credentials (a scraper on the LAN)")
    max_failures: int = Field(10, ge=1, le=1000, description="failed logins per client address per minute "
                                                             "(all workers together) before 429")
    max_checks_per_second: float = Field(2.0, ge=1.0, le=100.0,
                                         description="password checks per second for the whole device, any "
                                                     "addresses (each costs ~0.1 s of CPU); more get 429")
    trusted_proxies: tuple[str, ...] = Field((), description="reverse proxies (addresses or networks) whose "
                                                             "X-Forwarded-For names the client")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} must be an address or network, e.g. 127.0.0.1 or 10.0.0.0/8") from None
        return value

    @field_validator("tokens")
    @classmethod
    def _digests(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for token in value:
            scope, _, digest = token.rpartition(":")
            if not SHA256_HEX.match(digest):
                raise ValueError("each token must be the sha256 hex digest printed by `facedaemon hash-password "
                                 "--token`, never the token itself")
            if scope and scope not in TOKEN_SCOPES:
                raise ValueError(f"token scope {scope!r} must be one of {', '.join(TOKEN_SCOPES)}")
        return value

    @field_validator("users")
    @classmethod
    def _hashes(cls, value: dict[str, str]) -> dict[str, str]:
        for user, hashed in value.items():
            if not user or ":" in user:
                raise ValueError(f"user name {user!r} must be non-empty and without ':'")
            if not PASSWORD_HASH.match(hashed):
                raise ValueError(f"the password of {user!r} must be a hash from `facedaemon hash-password`, "
                                 "never the password itself")
            weak = weak_hash_reason(hashed)
            if weak:
                raise ValueError(f"the password hash of {user!r} is too weak ({weak}): make a new one with "
                                 "`facedaemon hash-password`")
        return value
