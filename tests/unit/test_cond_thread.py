"""children/threads.py: the worker thread its owner stops within a deadline and may start again."""

from __future__ import annotations

import threading
import time

from facedaemon.children.threads import CondThread


class Sleeper(CondThread):
    thread_name = "test-sleeper"

    def __init__(self, ignore_stop: threading.Event | None = None) -> None:
        super().__init__()
        self.runs = 0
        self._ignore_stop = ignore_stop

    def _run(self) -> None:
        self.runs += 1
        if self._ignore_stop is not None:
            self._ignore_stop.wait(30.0)  # a thread stuck in I/O: stop() must not wait for it past its deadline
            return
        with self._cond:
            self._cond.wait_for(lambda: self._stopping)


def test_stop_wakes_the_thread_and_a_stopped_one_starts_again() -> None:
    worker = Sleeper()
    worker.stop(1.0)  # never started: nothing to wait for
    for run in (1, 2):
        worker.start()
        assert worker.alive()
        worker.stop(30.0)
        assert not worker.alive() and worker.runs == run


def test_stop_gives_up_at_its_deadline_and_says_so_through_alive() -> None:
    release = threading.Event()
    worker = Sleeper(ignore_stop=release)
    worker.start()
    start = time.monotonic()
    worker.stop(0.2)
    assert time.monotonic() - start < 5.0 and worker.alive()
    release.set()
    worker.stop(30.0)
    assert not worker.alive()
