"""How long a bench run plays its clip (bench/playback.py, shared by the range and labels runs)."""

from __future__ import annotations

import threading
import time

import pytest

from facedaemon.bench import playback


class Captures:
    """A recorder whose source reaches frame `upto` after `after` seconds."""

    def __init__(self, upto: int, after: float) -> None:
        self.last_index = -1
        threading.Timer(after, lambda: setattr(self, "last_index", upto)).start()


@pytest.fixture(autouse=True)
def _no_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(playback, "TAIL", 0.0)


def test_plays_until_the_last_frame_was_captured() -> None:
    started = time.monotonic()
    playback.play_through(Captures(upto=9, after=0.3), frames=10, fps=1000.0)
    assert 0.3 <= time.monotonic() - started < 5.0  # not the 3× + 60 s deadline: it returned on the last frame


def test_a_longer_run_lasts_its_seconds_less_the_warm_up() -> None:
    started = time.monotonic()
    playback.play_through(Captures(upto=9, after=0.0), frames=10, fps=1000.0, seconds=0.8, already=0.3)
    assert 0.5 <= time.monotonic() - started < 5.0
