"""Events per second over a sliding window."""

from __future__ import annotations

import threading
from collections import deque


class RateMeter:
    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._times: deque[float] = deque()
        self._since: float | None = None  # when the source's current session began (restart)
        self._lock = threading.Lock()

    def restart(self, since: float) -> None:
        """The source began a new session at `since` (before it connected): earlier ticks are forgotten, and until a
        whole window has passed the rate counts from `since`, not from the first tick. A decoded camera's first
        frames come at once (ffmpeg decodes the ~1 s it buffered while it analysed the stream): counted from the
        first of them, that burst read as the camera's rate (22.8 fps for a 20.3 fps camera)."""
        with self._lock:
            self._times.clear()
            self._since = since

    def tick(self, now: float) -> None:
        with self._lock:
            self._times.append(now)
            self._trim(now)

    def rate(self, now: float) -> float:
        with self._lock:
            self._trim(now)
            since = self._since
            if since is not None and now - since <= self.window:
                return len(self._times) / (now - since) if now > since else 0.0
            if len(self._times) < 2:
                return 0.0
            span = max(now - self._times[0], self._times[-1] - self._times[0])
            return (len(self._times) - 1) / span if span > 0 else 0.0

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()
