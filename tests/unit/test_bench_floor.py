"""The benchmark's floor row: ffmpeg decode + encode alone, and every per-camera CPU figure as a ratio to it."""

from __future__ import annotations

import pytest

from facedaemon.bench.cli import _median_rounds, floor_ratios
from facedaemon.bench.floor import floor_figures
from facedaemon.bench.report import rows


def test_floor_figures_are_percent_of_one_core_per_child() -> None:
    got = floor_figures(decode_cpu=1.0, encode_cpu=3.0, frames=600, seconds=20.0)
    assert got == {"floor_decode_pct": 5.0, "floor_encode_pct": 15.0, "floor_cpu_pct": 20.0, "floor_fps": 30.0}


def test_every_per_camera_cpu_figure_gets_a_ratio_to_the_floor() -> None:
    figures = {"cpu_pct_per_camera": 31.0, "multi_cpu_pct_per_camera": 35.0, "cpu_pct_main_per_camera": 6.0,
               "cpu_pct_worker_per_camera": 8.0, "cpu_pct_ffmpeg_per_camera": 16.0, "fps_out": 30.0}
    ratios = floor_ratios(figures, 20.0)
    assert ratios == pytest.approx({"cpu_pct_per_camera_floor_ratio": 1.55,
                                    "multi_cpu_pct_per_camera_floor_ratio": 1.75,
                                    "cpu_pct_main_per_camera_floor_ratio": 0.3,
                                    "cpu_pct_worker_per_camera_floor_ratio": 0.4,
                                    "cpu_pct_ffmpeg_per_camera_floor_ratio": 0.8})
    assert floor_ratios(figures, 0.0) == {}  # a failed floor gives no ratio, not a division by zero


def test_repeat_reports_the_median_of_each_rounds_ratio() -> None:
    """Each ratio is taken within its round (floor and camera measured back to back), then the median of those."""
    rounds = [{"cpu_pct_per_camera": cpu, "floor_cpu_pct": floor, "fps_ratio": 1.0, "first_name_ms": 100.0,
               "latency_p95_ms": 10.0, **floor_ratios({"cpu_pct_per_camera": cpu}, floor)}
              for cpu, floor in ((30.0, 20.0), (40.0, 20.0), (26.0, 26.0))]
    merged = _median_rounds(rounds)
    assert merged["cpu_pct_per_camera_floor_ratio"] == pytest.approx(1.5)  # median of 1.5, 2.0, 1.0
    assert merged["floor_cpu_pct"] == 20.0 and merged["repeat"] == 3.0
    assert merged["cpu_pct_per_camera_floor_ratio_runs"] == pytest.approx([1.5, 2.0, 1.0])


def test_the_table_has_the_floor_and_the_ratio_targets() -> None:
    keys = {row.key: row for row in rows(20.0, 5)}
    assert {"floor_cpu_pct", "floor_decode_pct", "floor_encode_pct"} <= set(keys)
    assert keys["cpu_pct_per_camera_floor_ratio"].target == 1.3
    assert keys["multi_cpu_pct_per_camera_floor_ratio"].target == 1.3
    assert "multi_fps_min" in keys and "multi_cpu_pct_per_camera_floor_ratio" not in {row.key for row in rows(20.0, 1)}


def test_the_1080p_bench_names_its_picture_in_the_ratio_row() -> None:
    import argparse

    from facedaemon.bench.cli import PICTURES, add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).resolution == "720p"
    assert parser.parse_args(["--resolution", "1080p"]).resolution == "1080p"
    assert PICTURES["1080p"] == ((1920, 1080), 48), "issue 26's 1080p row: one 48 px face"
    figures = {row.key: row.figure for row in rows(20.0, 1, "1080p30")}
    assert figures["cpu_pct_per_camera_floor_ratio"] == "CPU per 1080p30 camera ÷ floor"
    assert figures["cpu_pct_per_camera"].startswith("CPU per 1080p30 camera")
    assert {row.key: row.figure for row in rows(20.0, 1)}["cpu_pct_per_camera_floor_ratio"] == \
        "CPU per 720p30 camera ÷ floor"
