"""The history's config: state_dir (never inside faces_dir), the history section's defaults, the state folder's
default under systemd and for a user (facedaemon/history/paths.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from facedaemon.config import ConfigError, load_text
from facedaemon.history import paths

BASE = "faces_dir: /srv/faces\nruntime_dir: /run/fd\ncameras: {door: {source: pattern}}\n"


def load(extra: str = ""):
    return load_text(BASE + extra, source="fd.yaml", base_dir=Path("/etc/fd"))


def test_defaults():
    config = load()
    assert config.state_dir is None
    assert (config.history.enabled, config.history.retention, config.history.max_mb, config.history.grace) == (
        True, 30 * 86400.0, 200, 60.0)


def test_durations_and_a_relative_state_dir():
    config = load("state_dir: state\nhistory: {retention: 7d, grace: 30s, max_mb: 50}\n")
    assert config.state_dir == Path("/etc/fd/state")
    assert (config.history.retention, config.history.grace, config.history.max_mb) == (7 * 86400.0, 30.0, 50)


@pytest.mark.parametrize("state_dir", ["/srv/faces", "/srv/faces/.state"])
def test_a_state_dir_inside_faces_dir_is_refused_naming_the_key(state_dir):
    with pytest.raises(ConfigError) as caught:
        load(f"state_dir: {state_dir}\n")
    assert "fd.yaml:4: state_dir: must not be inside faces_dir" in str(caught.value)


def test_unknown_history_keys_are_refused():
    with pytest.raises(ConfigError, match=r"history\.keep"):
        load("history: {keep: 3}\n")


def test_the_state_folder_default_under_systemd_and_for_a_user():
    config = load()
    assert paths.state_dir(config, {"STATE_DIRECTORY": "/var/lib/facedaemon:/var/lib/other"}) == Path(
        "/var/lib/facedaemon")
    user = {"XDG_STATE_HOME": "/home/u/.st", "HOME": "/home/u"}
    assert paths.state_dir(config, user) == Path("/home/u/.st/facedaemon")
    assert paths.state_dir(config, {"HOME": "/home/u"}) == Path("/home/u/.local/state/facedaemon")
    assert paths.database(load("state_dir: /var/x\n"), {}) == Path("/var/x/history.sqlite3")
