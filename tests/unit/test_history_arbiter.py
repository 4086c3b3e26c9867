"""The daemon owns the history recorder (daemon/arbiter.py): started with the daemon, handed every result, replaced
by a reload that changes the history's keys (and kept by one that does not), stopped with the daemon."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from facedaemon.config import load
from facedaemon.daemon.arbiter import Daemon
from facedaemon.daemon.wiring import Wiring
from facedaemon.faces.types import FaceResult, RecognitionResult
from facedaemon.metrics.registry import DaemonMetrics


class NoCameras(Wiring):
    """Only the history is real: no worker, web or cameras are started (recognize off, web off)."""


def write(path: Path, tmp: Path, **overrides) -> None:
    document = {"faces_dir": str(tmp / "faces"), "runtime_dir": str(tmp / "run"), "state_dir": str(tmp / "state"),
                "cameras": {"door": {"source": "pattern", "enabled": False}}, **overrides}
    path.write_text(yaml.safe_dump(document))


def test_the_daemon_starts_feeds_replaces_and_stops_its_history(tmp_path: Path) -> None:
    (tmp_path / "faces").mkdir()
    path = tmp_path / "facedaemon.yaml"
    write(path, tmp_path)
    daemon = Daemon(load(path), path, web=False, wiring=NoCameras(), metrics=DaemonMetrics.create(process=False))
    daemon.start()
    try:
        first = daemon.history
        assert first is not None and first.writer.alive()
        face = FaceResult("Obama", 0.9, 0.3, (0, 50, 50, 0), 1)
        daemon._on_result(RecognitionResult("door", time.time(), (face,), 0.01, 1))
        assert first.tracker.people() == {"Obama"}
        write(path, tmp_path, log_level="debug")
        assert daemon.reload() and daemon.history is first, "a reload of other keys keeps the recorder"
        write(path, tmp_path, log_level="debug", history={"grace": "10s"})
        assert daemon.reload()
        assert daemon.history is not first and daemon.history.tracker.grace == 10.0
        assert not first.writer.alive(), "the old writer stopped"
    finally:
        daemon.stop()
    assert daemon.history is None
    assert (tmp_path / "state" / "history.sqlite3").is_file()
