"""A worker thread that sleeps on a condition and stops within its owner's deadline (the webhook sink, the history
writer): start() runs `_run`, stop(timeout) sets `_stopping`, wakes the thread and waits at most `timeout` for it."""

from __future__ import annotations

import threading


class CondThread:
    thread_name = "worker"  # the thread's name in py-spy and the logs

    def __init__(self) -> None:
        self._cond = threading.Condition()  # guards `_stopping` and whatever the subclass queues for `_run`
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._cond:
            self._stopping = False  # a restart after a failure
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float) -> None:
        """Ask `_run` to end and wait for it, at most `timeout` seconds; alive() says whether it did not."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError
