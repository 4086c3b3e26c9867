"""The result board between the cameras and the recognition worker: which camera has a request in flight (and
since when), each camera's newest result, and the counts behind the worker's metrics.

Camera threads, the worker's result reader and the arbiter's checks all use it: every method takes the lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from facedaemon.faces.types import RecognitionResult


@dataclass
class WorkerStats:
    submitted: int = 0
    busy: int = 0  # submit() refused: a request for that camera was in flight or the child not ready
    results: int = 0
    errors: int = 0  # requests the child failed on
    abandoned: int = 0  # requests lost to a child crash or stall
    restarts: int = 0
    encoded: int = 0
    inference_seconds: float = 0.0


class ResultBoard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, float] = {}  # camera → monotonic time of submit
        self._latest: dict[str, RecognitionResult] = {}
        self._stats = WorkerStats()

    # -- requests --------------------------------------------------------------------------------------------

    def in_flight(self, camera: str) -> bool:
        with self._lock:
            return camera in self._in_flight

    def refused(self) -> None:
        """A submit turned away (busy camera or child not ready)."""
        with self._lock:
            self._stats.busy += 1

    def sent(self, camera: str) -> None:
        with self._lock:
            self._in_flight[camera] = time.monotonic()
            self._stats.submitted += 1

    def unsent(self, camera: str) -> None:
        """The request never reached the child (its queue closed): the camera may submit again."""
        with self._lock:
            self._in_flight.pop(camera, None)

    def waited(self) -> float | None:
        """Seconds the oldest request in flight has waited; None when none is."""
        with self._lock:
            oldest = min(self._in_flight.values(), default=None)
        return None if oldest is None else time.monotonic() - oldest

    def drop_in_flight(self, *, abandoned: bool = False) -> None:
        """Forget every request in flight (the child is gone); abandoned: count them as lost."""
        with self._lock:
            if abandoned:
                self._stats.abandoned += len(self._in_flight)
            self._in_flight.clear()

    # -- answers ---------------------------------------------------------------------------------------------

    def post(self, result: RecognitionResult) -> None:
        with self._lock:
            self._in_flight.pop(result.camera, None)
            self._latest[result.camera] = result
            self._stats.results += 1
            self._stats.encoded += result.encoded
            self._stats.inference_seconds += result.inference_seconds

    def failed(self, camera: str) -> None:
        with self._lock:
            self._in_flight.pop(camera, None)
            self._stats.errors += 1

    def latest(self, camera: str) -> RecognitionResult | None:
        """The newest result for the camera (read once per output frame)."""
        with self._lock:
            return self._latest.get(camera)

    def stats(self, restarts: int) -> WorkerStats:
        with self._lock:
            return WorkerStats(**{**vars(self._stats), "restarts": restarts})

    def reset(self) -> None:
        """Results and counts start afresh (a reconfigured worker); requests in flight are left as they are."""
        with self._lock:
            self._latest.clear()
            self._stats = WorkerStats()
