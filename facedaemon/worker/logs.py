"""Forward the child's log records (sent by a QueueHandler) to this process's loggers."""

from __future__ import annotations

import logging
import logging.handlers
import queue
import threading
from typing import Any

POLL_SECONDS = 0.2


class LogForwarder(logging.handlers.QueueListener):
    """A QueueListener that routes records to the logger they came from and whose stop() is bounded.

    The stock stop() enqueues a sentinel and joins without a timeout; a child killed while holding the
    queue's write lock would make that hang, so we poll a flag instead of relying on the sentinel.
    """

    def __init__(self, log_queue: Any) -> None:
        super().__init__(log_queue)
        self._halt = threading.Event()

    def dequeue(self, block: bool) -> Any:
        while not self._halt.is_set():
            try:
                return self.queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            except (EOFError, OSError, ValueError):
                return self._sentinel
        try:  # drain what is already there so the last lines before a stop are not lost
            return self.queue.get_nowait()
        except Exception:
            return self._sentinel

    def handle(self, record: logging.LogRecord) -> None:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)

    def stop(self, timeout: float = 1.0) -> None:
        self._halt.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            self._thread = None
        self.queue.close()
        self.queue.cancel_join_thread()
