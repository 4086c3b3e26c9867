"""The result board: requests in flight, each camera's newest result, the worker's counts."""

from __future__ import annotations

import time

from facedaemon.faces.types import RecognitionResult
from facedaemon.worker.board import ResultBoard


def result(camera: str, frame_time: float = 1.0, encoded: int = 1) -> RecognitionResult:
    return RecognitionResult(camera, frame_time, (), inference_seconds=0.25, encoded=encoded)


def test_a_result_ends_the_request_and_is_the_cameras_latest() -> None:
    board = ResultBoard()
    board.sent("door")
    assert board.in_flight("door") and not board.in_flight("garage")
    board.post(result("door", 2.0))
    assert not board.in_flight("door")
    assert board.latest("door") == result("door", 2.0) and board.latest("garage") is None
    stats = board.stats(restarts=3)
    counts = (stats.submitted, stats.results, stats.encoded, stats.inference_seconds, stats.restarts)
    assert counts == (1, 1, 1, 0.25, 3)


def test_errors_refusals_and_unsent_requests_are_counted_apart() -> None:
    board = ResultBoard()
    board.refused()
    board.sent("door")
    board.failed("door")
    board.sent("garage")
    board.unsent("garage")
    stats = board.stats(restarts=0)
    assert (stats.busy, stats.submitted, stats.errors, stats.results) == (1, 2, 1, 0)
    assert not board.in_flight("door") and not board.in_flight("garage")


def test_waited_is_the_oldest_request_in_flight() -> None:
    board = ResultBoard()
    assert board.waited() is None
    board.sent("door")
    time.sleep(0.01)
    board.sent("garage")
    board.post(result("garage"))
    assert 0.01 <= board.waited() < 5.0


def test_a_dead_child_abandons_its_requests_and_a_reset_clears_results() -> None:
    board = ResultBoard()
    board.sent("door")
    board.sent("garage")
    board.post(result("garage"))
    board.drop_in_flight(abandoned=True)
    assert not board.in_flight("door") and board.stats(0).abandoned == 1
    board.sent("door")
    board.drop_in_flight()  # a stop: nothing lost to a crash
    assert board.stats(0).abandoned == 1
    board.reset()
    assert board.latest("garage") is None and board.stats(0).submitted == 0
