"""Deliver frames at a fixed rate, like a camera, without drifting: the clock of the file and pattern sources
(how often a camera offers a frame to recognition is pipeline/pacing.py).
"""

from __future__ import annotations

import threading
import time

# Behind by more than this (a stalled disk or decoder, a frozen process): resync to now rather than send a
# burst. Below it a late read is made up by the next frames, so the average rate stays the source's own.
MAX_CATCH_UP = 0.5  # seconds


class Pacer:
    """Sleeps until the next frame is due. A late frame's delay is made up by the next ones (they are not
    slept for) as long as the lag stays under max_catch_up; after a longer stall the schedule restarts from now."""

    def __init__(self, fps: float, stop: threading.Event | None = None, max_catch_up: float = MAX_CATCH_UP) -> None:
        self.interval = 1.0 / fps
        self.max_catch_up = max(max_catch_up, self.interval)
        self._next = time.monotonic()
        self._stop = stop or threading.Event()

    def wait(self) -> None:
        now = time.monotonic()
        if self._next > now:
            self._stop.wait(self._next - now)
        elif now - self._next > self.max_catch_up:
            self._next = now  # a long stall: never a burst of stale catch-up frames
        self._next += self.interval
