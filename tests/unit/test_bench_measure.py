"""The benchmark's bookkeeping: pure, fed with made-up times."""

from pathlib import Path

import numpy as np
import pytest

from facedaemon.bench.clip import EntryClip
from facedaemon.bench.measure import Recorder, Window, figures, growth_percent, histogram_quantile
from facedaemon.bench.report import rows, table

CLIP = EntryClip(Path("clip.mp4"), fps=10, frames=40, appear_at=2.0)  # face on frames 20..39 of each loop


def test_clip_truth_wraps_with_the_loop() -> None:
    assert CLIP.first_face_frame == 20
    assert [CLIP.face_on_screen(i) for i in (0, 19, 20, 39, 40, 60)] == [False, False, True, True, False, True]


def play(recorder: Recorder, name_after: int, latency: float = 0.05) -> None:
    """Two loops of the clip at 10 fps; the name shows from `name_after` frames after the face appears."""
    for index in range(80):
        captured = 100.0 + index / 10
        recorder.on_capture(index, captured)
        on = CLIP.face_on_screen(index)
        named = on and (index % 40) - 20 >= name_after
        recorder.on_output(captured, captured + latency, ["Obama"] if named else ([UNKNOWN] if on else []))


UNKNOWN = "Unknown"


def test_recorder_figures() -> None:
    recorder = Recorder(CLIP, Window(100.0, 108.0), capacity=100)
    play(recorder, name_after=2)
    result = figures([recorder], cpu_cores=0.4, rss=[100, 100, 101, 100], source_fps=10)
    assert result["fps_ratio"] == pytest.approx(1.0)
    assert result["latency_p95_ms"] == pytest.approx(50.0)
    assert result["first_name_ms"] == pytest.approx(250.0)  # 2 frames at 10 fps + 50 ms latency
    assert result["appearances"] == 2
    assert result["label_accuracy_pct"] == pytest.approx(100 * 36 / 40)  # the first 2 frames read Unknown
    assert result["cpu_pct_per_camera"] == pytest.approx(40.0)
    assert result["ghost_labels"] == 0


def test_outputs_outside_the_window_are_not_counted() -> None:
    recorder = Recorder(CLIP, Window(104.0, 105.0), capacity=100)
    play(recorder, name_after=0)
    assert recorder.outputs == 10
    assert recorder.first_name == [], "the face appeared before the window opened"


def test_growth_and_histogram_quantile() -> None:
    assert growth_percent([100] * 10 + [110] * 10) == pytest.approx(10.0)
    assert np.isnan(growth_percent([]))
    buckets = [(0.01, 50.0), (0.02, 90.0), (0.05, 100.0), (float("inf"), 100.0)]
    assert histogram_quantile(buckets, 0.5) == pytest.approx(0.01)
    assert histogram_quantile(buckets, 0.95) == pytest.approx(0.035)
    assert np.isnan(histogram_quantile([], 0.5))


def test_table_has_every_row_and_a_verdict() -> None:
    good = {"fps_ratio": 1.0, "latency_p95_ms": 20.0, "first_name_ms": 200.0}
    text = table({"fps_ratio": 0.8}, good, rows(20, 3))
    lines = text.splitlines()
    assert len(lines) == 2 + len(rows(20, 3))
    assert "| output fps / source fps, 1 camera | 0.800 | 1.000 | ≥ 0.990 | 1.2× | pass |" in lines
    assert "n/a" in text
