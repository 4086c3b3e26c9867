"""A one-frame hand-off between two threads: the newest frame wins and the producer never waits."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    def __init__(self) -> None:
        self._item: T | None = None
        self._ready = threading.Condition(threading.Lock())
        self.replaced = 0  # items overwritten before anyone took them: dropped on purpose

    def put(self, item: T) -> bool:
        """Store item; return True when it replaced one nobody had taken (a dropped frame)."""
        with self._ready:
            dropped = self._item is not None
            if dropped:
                self.replaced += 1
            self._item = item
            self._ready.notify()
            return dropped

    def take(self, timeout: float) -> T | None:
        """The newest item, or None after timeout."""
        with self._ready:
            if self._item is None:
                self._ready.wait(timeout)
            item, self._item = self._item, None
            return item
