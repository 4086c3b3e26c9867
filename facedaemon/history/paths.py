"""Where the history lives: state_dir from the config, else systemd's $STATE_DIRECTORY, else the XDG state folder."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from facedaemon.config.models import Config

DB_NAME = "history.sqlite3"


def state_dir(config: Config, environ: Mapping[str, str] | None = None) -> Path:
    """The persistent state folder: the config's state_dir, else StateDirectory= (systemd sets $STATE_DIRECTORY,
    several paths separated by ':' — the first is ours), else $XDG_STATE_HOME/facedaemon or ~/.local/state/..."""
    if config.state_dir is not None:
        return config.state_dir
    env = os.environ if environ is None else environ
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    base = env.get("XDG_STATE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return Path(base) / "facedaemon"


def database(config: Config, environ: Mapping[str, str] | None = None) -> Path:
    return state_dir(config, environ) / DB_NAME


def inside_faces(config: Config, folder: Path) -> bool:
    """The default state folder may land inside faces_dir too (the config checks only an explicit state_dir)."""
    return Path(os.path.abspath(folder)).is_relative_to(os.path.abspath(config.faces_dir))
