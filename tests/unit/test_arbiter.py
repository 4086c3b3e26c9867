"""The arbiter with fake parts (no ffmpeg, gunicorn, recognition child, GStreamer or live socket), as gunicorn tests
its arbiter with fake workers: the one order start, reload and stop go through (converge), status.json around the
web server's start, and the worker client the cameras keep across a reload."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from facedaemon.config import load
from facedaemon.daemon.arbiter import Daemon
from facedaemon.daemon.wiring import Wiring
from facedaemon.metrics.registry import DaemonMetrics
from facedaemon.sources.base import Frame


class FakeSource:
    description = "fake"

    def open(self) -> None:
        pass

    def read(self) -> Frame:
        time.sleep(0.02)
        return Frame(np.zeros((72, 64), np.uint8), time.time(), time.monotonic())

    def close(self) -> None:
        pass


class Part:
    """Records start/stop/check into the shared call list as '<kind>.<what> <name>'."""

    def __init__(self, calls: list[str], kind: str, name: str = "") -> None:
        self.calls, self.kind, self.name = calls, kind, name

    def _log(self, what: str) -> None:
        self.calls.append(f"{self.kind}.{what} {self.name}".strip())

    def start(self) -> bool:
        self._log("start")
        return True

    def stop(self, timeout: float = 3.0) -> None:
        self._log("stop")

    def check(self, now: float | None = None) -> None:
        pass


class FakeWorker(Part):
    gallery = None  # no gallery loaded yet

    def reconfigure(self, config, timeout: float = 3.0) -> None:
        self._log("reconfigure")

    def submit(self, camera, frame, frame_time, hint=None) -> bool:
        return False

    def latest(self, camera):
        return None

    def in_flight(self, camera) -> bool:
        return False


class FakeWeb(Part):
    def __init__(self, calls: list[str], runtime_dir: Path) -> None:
        super().__init__(calls, "web")
        self.runtime_dir = runtime_dir
        self.status_there_at_start: bool | None = None

    def start(self) -> bool:
        self.status_there_at_start = (self.runtime_dir / "status.json").is_file()
        return super().start()


class FakeRtsp(Part):
    def feed(self, camera: str):
        return None


class FakeEncoder(Part):
    def write(self, frame) -> bool:
        return True


class FakeLive:
    """The live hub without its socket and thread (the real one: tests/integration/test_live_hub.py)."""

    path = "live.sock"
    max_viewers = 20

    def start(self) -> None:
        pass

    def feed(self, camera: str) -> None:
        return None

    def remove(self, camera: str) -> None:
        pass

    def stop(self) -> None:
        pass


class FakeWiring(Wiring):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.webs: list[FakeWeb] = []

    def worker(self, config, *, on_result, on_restart):
        self.calls.append("worker.new")
        return FakeWorker(self.calls, "worker")

    def events(self, config, metrics, *, grab):
        return None

    def rtsp(self, config, *, on_restart):
        self.calls.append("rtsp.new")
        return FakeRtsp(self.calls, "rtsp")

    def web(self, config, config_path, *, on_restart):
        self.calls.append("web.new")
        self.webs.append(FakeWeb(self.calls, config.runtime_dir))
        return self.webs[-1]

    def encoder(self, config, camera, *, on_restart, h264_sink, live_sink=None):
        self.calls.append(f"encoder.new {camera.name}")
        return FakeEncoder(self.calls, "encoder", camera.name)

    def source(self, config, camera):
        return FakeSource()

    def live(self, config, metrics):
        return FakeLive()


def write(path: Path, tmp: Path, cameras: dict, **overrides) -> None:
    document = {"faces_dir": str(tmp / "faces"), "runtime_dir": str(tmp / "run"), "cache_dir": str(tmp / "cache"),
                "state_dir": str(tmp / "state"),
                "http": {"listen": "127.0.0.1:8099"}, "cameras": cameras, **overrides}
    path.write_text(yaml.safe_dump(document))


PATTERN = {"source": "pattern", "width": 64, "height": 48, "fps": 10}


@pytest.fixture
def daemon(tmp_path: Path):
    (tmp_path / "faces").mkdir()
    path = tmp_path / "facedaemon.yaml"
    write(path, tmp_path, {"a": {**PATTERN, "rtsp": {"enabled": True}}, "b": {**PATTERN, "recognize": False}})
    wiring = FakeWiring()
    daemon = Daemon(load(path), path, wiring=wiring, metrics=DaemonMetrics.create(process=False))
    daemon.start()
    yield daemon, wiring, path
    daemon.stop()


def test_start_brings_the_parts_up_in_order_and_writes_status_before_the_web(daemon) -> None:
    daemon, wiring, _ = daemon
    assert wiring.calls == ["worker.new", "worker.start", "rtsp.new", "rtsp.start", "encoder.new a",
                            "encoder.new b", "web.new", "web.start"]
    assert wiring.webs[0].status_there_at_start, "the web's first request finds a status.json"
    assert set(daemon.cameras) == {"a", "b"}


def test_stop_goes_down_in_the_reverse_order_and_removes_status(daemon) -> None:
    daemon, wiring, _ = daemon
    wiring.calls.clear()
    daemon.stop()
    assert wiring.calls[0] == "web.stop", "no new clients while stopping"
    assert sorted(wiring.calls[1:3]) == ["encoder.stop a", "encoder.stop b"]
    assert wiring.calls[3:] == ["rtsp.stop", "worker.stop"]
    assert not (daemon.config.runtime_dir / "status.json").exists()


def test_a_reload_restarts_only_the_changed_camera_and_the_cameras_keep_the_worker(daemon, tmp_path) -> None:
    daemon, wiring, path = daemon
    worker, camera_a = daemon.worker, daemon.cameras["a"]
    wiring.calls.clear()
    write(path, tmp_path, {"a": {**PATTERN, "rtsp": {"enabled": True}}, "b": {**PATTERN, "recognize": False,
                                                                           "fps": 5}})
    assert daemon.reload()
    assert wiring.calls == ["encoder.stop b", "encoder.new b"]
    assert daemon.cameras["a"] is camera_a and daemon.worker is worker


def test_a_recognition_change_gives_the_same_worker_client_a_new_child(daemon, tmp_path) -> None:
    daemon, wiring, path = daemon
    worker = daemon.worker
    wiring.calls.clear()
    write(path, tmp_path, {"a": {**PATTERN, "rtsp": {"enabled": True}}, "b": {**PATTERN, "recognize": False}},
          recognition={"tolerance": 0.5})
    assert daemon.reload()
    assert wiring.calls == ["worker.reconfigure"], "no second worker: the cameras read one result board"
    assert daemon.worker is worker and daemon.cameras["a"]._recognizer is worker


def test_an_invalid_file_keeps_everything_running(daemon) -> None:
    daemon, wiring, path = daemon
    wiring.calls.clear()
    path.write_text("cameras: [not, a, mapping\n")
    assert not daemon.reload()
    assert wiring.calls == []
    assert set(daemon.cameras) == {"a", "b"}


def test_unknown_crops_are_swept_on_the_first_tick_then_every_prune_every(monkeypatch) -> None:
    from facedaemon.daemon import housekeeping

    swept: list[tuple[Path, float]] = []
    monkeypatch.setattr(housekeeping, "sweep_unknowns", lambda folder, retention: swept.append((folder, retention)))
    sweep, folder = housekeeping.UnknownsSweep(), Path("/unknowns")
    for now in (100.0, 100.0 + housekeeping.PRUNE_EVERY - 1, 100.0 + housekeeping.PRUNE_EVERY):
        sweep.tick(now, folder, 3600.0)
    assert swept == [(folder, 3600.0), (folder, 3600.0)]


def test_the_main_loop_trims_the_heap_once_a_minute(daemon, monkeypatch) -> None:
    from facedaemon.daemon import housekeeping, malloc

    daemon, _wiring, _path = daemon
    trims: list[bool] = []
    monkeypatch.setattr(malloc, "trim", lambda: trims.append(True) or True)
    for now in (5000.0, 5000.0 + housekeeping.TRIM_EVERY / 2, 5000.0 + housekeeping.TRIM_EVERY):
        daemon._check(now)
    assert trims == [True]
