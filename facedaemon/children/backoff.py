"""Capped exponential backoff that resets after a healthy run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay before the next restart: first, 2×first, … up to cap; back to first after `healthy_after` s of uptime."""

    first: float = 0.5
    cap: float = 10.0
    healthy_after: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    _started: float | None = field(default=None, repr=False)

    def started(self) -> None:
        """Call when the supervised thing (re)starts."""
        self._started = self.clock()

    def failed(self) -> float:
        """Record a failure; return how long to wait before the next try."""
        if self._started is not None and self.clock() - self._started >= self.healthy_after:
            self.failures = 0
        self._started = None
        delay = min(self.cap, self.first * (2**self.failures))
        self.failures += 1
        return delay
