"""gallery/locks.py: the timed flock behind a person's enrol/forget and the unknown groups' state."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from facedaemon.gallery import edit, locks
from facedaemon.gallery.layout import EnrollError


def test_a_held_lock_raises_the_given_error_once_the_wait_is_over(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with locks.held(path, 1.0, RuntimeError("never")):
        start = time.monotonic()
        with pytest.raises(ValueError, match="busy"), locks.held(path, 0.2, ValueError("busy")):
            pass
        assert time.monotonic() - start >= 0.2, "it waited before giving up"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_waiter_gets_the_lock_when_the_holder_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    order: list[str] = []

    def wait_for_it() -> None:
        with locks.held(path, 30.0, RuntimeError("the holder let go long ago")):
            order.append("waiter")

    with locks.held(path, 1.0, RuntimeError("never")):
        waiter = threading.Thread(target=wait_for_it)
        waiter.start()
        time.sleep(0.2)
        order.append("holder")
    waiter.join(30.0)
    assert order == ["holder", "waiter"]


def test_a_person_changed_elsewhere_is_a_409_naming_him(tmp_path: Path) -> None:
    busy = pytest.raises(EnrollError, match="'alice' is being changed")
    with edit.person_lock(tmp_path, "alice"), busy as err, edit.person_lock(tmp_path, "alice", wait=0.1):
        pass
    assert err.value.status == 409
    with edit.person_lock(tmp_path, "bob", wait=0.1):  # another person is not held up
        pass
