"""Secrets referenced from the config instead of written in it: ${env:NAME} and ${cred:NAME}.

The config (and so every log line, status file and error built from it) keeps the placeholder; the value is put in
only when a source is built, right before it is opened. ${cred:NAME} reads $CREDENTIALS_DIRECTORY/NAME, which
systemd fills from LoadCredential=NAME:/path (see systemd/facedaemon.service).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CRED_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")  # systemd's rule: a file name, no '/'


class SecretError(ValueError):
    """A placeholder that cannot be filled; the message names the placeholder, never a value."""


def has_secrets(text: str) -> bool:
    return PLACEHOLDER.search(text) is not None


def read_credential(path: Path) -> str:
    # Files written by editors or `echo` end with a newline that is not part of the secret.
    return path.read_text(encoding="utf-8").removesuffix("\n")


def expand_secrets(text: str, environ: Mapping[str, str], credentials_dir: str | Path | None, *,
                   read: Callable[[Path], str] = read_credential) -> str:
    """Replace every ${env:NAME} with environ[NAME] and ${cred:NAME} with the file credentials_dir/NAME."""

    def fill(match: re.Match[str]) -> str:
        placeholder = match.group(0)
        kind, _, name = match.group(1).partition(":")
        if kind == "env":
            if not ENV_NAME.match(name):
                raise SecretError(f"{placeholder}: not a valid environment variable name")
            if name not in environ:
                raise SecretError(f"{placeholder}: environment variable {name} is not set")
            return environ[name]
        if kind == "cred":
            if not CRED_NAME.match(name):
                raise SecretError(f"{placeholder}: not a valid credential name")
            if not credentials_dir:
                raise SecretError(f"{placeholder}: $CREDENTIALS_DIRECTORY is not set "
                                  f"(start the service with LoadCredential={name}:/path/to/secret)")
            path = Path(credentials_dir) / name
            try:
                return read(path)
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
                raise SecretError(f"{placeholder}: cannot read credential {path}: {reason}") from None
        raise SecretError(f"{placeholder}: unknown placeholder (use ${{env:NAME}} or ${{cred:NAME}})")

    return PLACEHOLDER.sub(fill, text)
