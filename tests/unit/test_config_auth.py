"""Auth settings: on by default beyond loopback, hashes only, never a password echoed back."""

from __future__ import annotations

from pathlib import Path

import pytest

from facedaemon.config import ConfigError, load_text

HASH = "scrypt:32768:8:1$abcdefgh$" + "ab" * 64
DIGEST = "0" * 64


def config(listen: str, auth: str = "") -> str:
    return f"faces_dir: f\nruntime_dir: r\nhttp: {{listen: '{listen}'}}\n{auth}cameras: {{a: {{source: pattern}}}}\n"


@pytest.mark.parametrize(("listen", "auth", "required"), [
    ("127.0.0.1:8080", "", False),
    ("localhost:8080", "", False),
    ("[::1]:8080", "", False),
    ("0.0.0.0:8080", f"auth: {{users: {{alice: '{HASH}'}}}}\n", True),
    ("192.168.1.5:8080", f"auth: {{tokens: ['{DIGEST}']}}\n", True),
    ("0.0.0.0:8080", "auth: {enabled: false}\n", False),
    ("127.0.0.1:8080", f"auth: {{enabled: true, users: {{alice: '{HASH}'}}}}\n", True),
])
def test_auth_is_on_exactly_when_needed(listen, auth, required):
    loaded = load_text(config(listen, auth), source="c.yaml", base_dir=Path("/tmp"))
    assert loaded.auth_required is required


@pytest.mark.parametrize(("listen", "auth", "message"), [
    ("0.0.0.0:8080", "", "beyond loopback"),
    ("127.0.0.1:8080", "auth: {enabled: true}\n", "auth.enabled is true"),
    ("0.0.0.0:8080", "auth: {users: {alice: 'plain-secret-pw'}}\n", "hash-password"),
    ("0.0.0.0:8080", "auth: {tokens: ['my-secret-token']}\n", "sha256 hex digest"),
])
def test_unsafe_auth_settings_are_config_errors(listen, auth, message):
    with pytest.raises(ConfigError) as error:
        load_text(config(listen, auth), source="c.yaml", base_dir=Path("/tmp"))
    assert message in str(error.value)
    assert "plain-secret-pw" not in str(error.value) and "my-secret-token" not in str(error.value)


@pytest.mark.parametrize("method", ["pbkdf2:sha256:1", "pbkdf2:sha1:1000000", "scrypt:1024:8:1", "scrypt:32768:1:1"])
def test_weak_password_hashes_are_refused_at_load(method):
    from werkzeug.security import generate_password_hash

    from facedaemon.config.auth import AuthConfig

    hashed = generate_password_hash("pw", method=method)
    with pytest.raises(ValueError, match="too weak"):
        AuthConfig(users={"alice": hashed})
    AuthConfig(users={"alice": generate_password_hash("pw")})  # the default stays accepted
