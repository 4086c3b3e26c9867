"""Pure parts the daemon runs on: children/ (restart backoff), pipeline/ (newest-wins hand-off, rate meter) and
daemon/ (the gunicorn command, sd_notify outside systemd, the watchdog interval)."""

from __future__ import annotations

import os
import threading

import pytest

from facedaemon.children.backoff import Backoff
from facedaemon.config.models import Config, HttpConfig
from facedaemon.daemon import systemd
from facedaemon.daemon.web_server import gunicorn_args
from facedaemon.pipeline.handoff import LatestSlot
from facedaemon.pipeline.rate import RateMeter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_from_the_first_failure_and_caps():
    backoff = Backoff(first=0.5, cap=4.0, clock=Clock())
    assert [backoff.failed() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_backoff_resets_after_a_healthy_run_only():
    clock = Clock()
    backoff = Backoff(first=1.0, cap=60.0, healthy_after=30.0, clock=clock)
    backoff.failed(), backoff.failed()
    backoff.started()
    clock.now = 10.0
    assert backoff.failed() == 4.0, "10 s of uptime is not healthy"
    backoff.started()
    clock.now = 50.0
    assert backoff.failed() == 1.0, "40 s of uptime is: start again from the first delay"


def test_latest_slot_keeps_the_newest_and_counts_what_it_dropped():
    slot: LatestSlot[int] = LatestSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert slot.take(0.01) == 3
    assert slot.take(0.01) is None
    assert slot.replaced == 2


def test_latest_slot_wakes_a_waiting_consumer():
    slot: LatestSlot[str] = LatestSlot()
    got = []
    consumer = threading.Thread(target=lambda: got.append(slot.take(5.0)))
    consumer.start()
    slot.put("frame")
    consumer.join(5.0)
    assert got == ["frame"]


@pytest.mark.parametrize(("ticks", "now", "expected"), [
    ([], 1.0, 0.0),
    ([0.0], 0.0, 0.0),
    ([i / 30 for i in range(61)], 2.0, 30.0),
    ([i / 10 for i in range(21)], 2.0, 10.0),
    ([i / 30 for i in range(61)], 10.0, 0.0),  # stopped long ago: no stale rate
])
def test_rate_meter(ticks, now, expected):
    meter = RateMeter(window=2.0)
    for tick in ticks:
        meter.tick(tick)
    assert meter.rate(now) == pytest.approx(expected, abs=0.6)


def test_gunicorn_command_binds_the_configured_address_and_loads_the_factory(tmp_path):
    config = Config.model_construct(faces_dir=tmp_path, runtime_dir=tmp_path,
                                    http=HttpConfig(listen="127.0.0.1:9123", workers=2, threads=4))
    path = tmp_path / "it's.yaml"
    argv = gunicorn_args(config, path, python="/venv/bin/python")
    assert argv[:3] == ["/venv/bin/python", "-m", "gunicorn"]
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:9123"
    assert argv[argv.index("--workers") + 1] == "2"
    assert argv[argv.index("--worker-class") + 1] == "facedaemon.web.gevent_worker.DeadlineWorker"
    app = argv[-1]
    assert app.startswith("facedaemon.web.app:create_app_from_config(") and repr(str(path.resolve())) in app


def test_sd_notify_is_a_no_op_outside_systemd():
    assert systemd.notify("READY=1", {}) is False


@pytest.mark.parametrize(("env", "expected"), [
    ({}, None),
    ({"WATCHDOG_USEC": "60000000"}, 30.0),
    ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
    ({"WATCHDOG_USEC": "junk"}, None),
])
def test_watchdog_interval(env, expected):
    if env.get("WATCHDOG_PID") == "1" and os.getpid() == 1:
        pytest.skip("running as pid 1")
    assert systemd.watchdog_interval(env) == expected

