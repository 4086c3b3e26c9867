"""The daemon's side of the history (facedaemon/history/recorder.py) with a real writer thread and file: results
in, visits out; off when history.enabled is false or the state folder is inside faces_dir; a dead writer restarted
through the restart policy; the gallery's forget; a clean stop within its deadline."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

from facedaemon.config import load_text
from facedaemon.faces.types import FaceResult, RecognitionResult
from facedaemon.history.recorder import HistoryRecorder
from facedaemon.history.visits import Thumb
from facedaemon.metrics.registry import DaemonMetrics


def config(tmp: Path, extra: str = ""):
    text = (f"faces_dir: {tmp}/faces\nruntime_dir: {tmp}/run\nstate_dir: {tmp}/state\n"
            "cameras: {door: {source: pattern}}\n")
    return load_text(text + extra, source="fd.yaml", base_dir=tmp)


def result(name: str, track: int = 1) -> RecognitionResult:
    return RecognitionResult("door", time.time(), (FaceResult(name, 0.9, 0.3, (10, 60, 60, 10), track),), 0.01, 1)


def rows(tmp: Path) -> list[tuple]:
    conn = sqlite3.connect(tmp / "state" / "history.sqlite3")
    try:
        return conn.execute("SELECT person, camera, thumb FROM visits ORDER BY id").fetchall()
    finally:
        conn.close()


def wait(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def test_results_become_visits_with_their_thumbnail_and_stop_writes_the_end(tmp_path):
    metrics = DaemonMetrics.create(process=False)
    recorder = HistoryRecorder.from_config(config(tmp_path), metrics)
    recorder.start()
    recorder.on_result(result("Obama"))
    recorder.on_shot(Thumb("door", 1, 2.0, b"\xff\xd8thumb"))
    time.sleep(0.6)
    recorder.on_result(result("Obama"))
    started = time.monotonic()
    recorder.stop(timeout=2.0)
    assert time.monotonic() - started < 2.5
    assert rows(tmp_path) == [("Obama", "door", 1)]
    text = metrics.registry.get_sample_value("facedaemon_history_dropped_total", {"reason": "disk_full"})
    assert text == 0.0


def test_off_when_disabled_or_inside_faces_dir(tmp_path, caplog):
    assert HistoryRecorder.from_config(config(tmp_path, "history: {enabled: false}\n")) is None
    inside = load_text(f"faces_dir: {tmp_path}/faces\nruntime_dir: {tmp_path}/run\ncameras: {{door: {{source: "
                       f"pattern}}}}\n", source="fd.yaml", base_dir=tmp_path)
    with caplog.at_level(logging.ERROR):
        assert HistoryRecorder.from_config(inside, environ={"STATE_DIRECTORY": f"{tmp_path}/faces/state"}) is None
    assert "inside faces_dir" in caplog.text


def test_a_dead_writer_is_restarted_through_the_restart_policy(tmp_path):
    metrics = DaemonMetrics.create(process=False)
    recorder = HistoryRecorder.from_config(config(tmp_path), metrics)
    recorder.start()
    recorder.tick(time.monotonic())

    def crash(conn):
        raise sqlite3.OperationalError("simulated: attempt to write a readonly database")

    recorder.writer.call(crash)
    wait(lambda: not recorder.writer.alive())
    wait(lambda: (recorder.tick(time.monotonic()), recorder.writer.alive())[1])
    assert metrics.registry.get_sample_value("facedaemon_restarts_total", {"part": "history", "camera": ""}) == 1
    recorder.on_result(result("Obama"))
    recorder.stop(timeout=2.0)
    assert rows(tmp_path) == [("Obama", "door", 0)]


def test_people_who_left_the_gallery_are_forgotten(tmp_path):
    recorder = HistoryRecorder.from_config(config(tmp_path))
    recorder.start()
    recorder.on_result(result("Obama", 1))
    recorder.on_result(result("Biden", 2))
    recorder.set_people({"Obama", "Biden"})
    recorder.set_people({"Obama"})
    recorder.stop(timeout=2.0)
    assert [r[0] for r in rows(tmp_path)] == ["Obama"]
