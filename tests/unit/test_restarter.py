"""The one restart policy: backoff between tries, restarts counted after the first start, the last error kept."""

from __future__ import annotations

from facedaemon.children.backoff import Backoff
from facedaemon.children.restarter import Restarter
from facedaemon.metrics.registry import DaemonMetrics


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_first_start_is_not_a_restart_later_ones_are() -> None:
    seen: list[str] = []
    clock = Clock()
    restarter = Restarter("web", backoff=Backoff(first=1.0, cap=4.0, clock=clock), on_restart=seen.append,
                          clock=clock)
    restarter.started()
    assert restarter.restarts == 0 and seen == []
    assert restarter.failed("gunicorn exited with 1") == 1.0
    assert restarter.last_error == "gunicorn exited with 1"
    restarter.started()
    assert restarter.restarts == 1 and seen == ["web"]


def test_waits_out_the_backoff_and_doubles_it_up_to_the_cap() -> None:
    clock = Clock()
    restarter = Restarter("rtsp", backoff=Backoff(first=1.0, cap=3.0, clock=clock), clock=clock)
    assert not restarter.waiting() and not restarter.due(), "nothing planned before a failure"
    delays = [restarter.failed("died") for _ in range(3)]
    assert delays == [1.0, 2.0, 3.0]
    assert restarter.waiting() and not restarter.due()
    clock.now += 3.0
    assert restarter.due() and not restarter.waiting()
    restarter.retry_now()
    assert not restarter.due() and not restarter.waiting()


def test_every_part_lands_in_one_metric_and_the_old_names_still_count() -> None:
    metrics = DaemonMetrics.create(process=False)
    metrics.add_camera("door")
    for part, camera in (("encoder", "door"), ("capture", "door"), ("worker", ""), ("web", ""), ("rtsp", "")):
        metrics.count_restart(part, camera)
    value = metrics.registry.get_sample_value
    for part, camera in (("encoder", "door"), ("capture", "door"), ("worker", ""), ("web", ""), ("rtsp", "")):
        assert value("facedaemon_restarts_total", {"part": part, "camera": camera}) == 1.0, part
    assert value("facedaemon_encoder_restarts_total", {"camera": "door"}) == 1.0
    assert value("facedaemon_recognition_worker_restarts_total") == 1.0
    metrics.remove_camera("door")
    assert value("facedaemon_restarts_total", {"part": "encoder", "camera": "door"}) is None
