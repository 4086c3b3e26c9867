"""Deliver frames at a fixed rate, like a camera, without drifting."""

from __future__ import annotations

import threading
import time


class Pacer:
    """Sleeps until the next frame is due; skips ahead instead of bursting when it fell behind."""

    def __init__(self, fps: float, stop: threading.Event | None = None) -> None:
        self.interval = 1.0 / fps
        self._next = time.monotonic()
        self._stop = stop or threading.Event()

    def wait(self) -> None:
        now = time.monotonic()
        if self._next > now:
            self._stop.wait(self._next - now)
            self._next += self.interval
        else:
            # Behind schedule (a slow read): restart the schedule from now, never a burst of catch-up frames.
            self._next = now + self.interval
