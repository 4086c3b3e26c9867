"""The benchmark table: one row per figure, naive design vs facedaemon, against the issue's targets."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    figure: str
    key: str  # key in the figures dicts
    target: float | None  # None: shown for information, no pass/fail
    higher_is_better: bool
    unit: str = ""
    digits: int = 1


def rows(seconds: float, cameras: int, picture: str = "720p30") -> list[Row]:
    """The table's rows; `picture` names the clip's resolution and rate (bench --resolution)."""
    run = f"{seconds:.0f} s run" if seconds < 600 else f"{seconds / 60:.0f}-minute run"
    return [
        Row("output fps / source fps, 1 camera", "fps_ratio", 0.99, True, "", 3),
        Row("capture → encoder latency p95", "latency_p95_ms", 80.0, False, " ms", 0),
        Row("capture → encoder latency p50 (info)", "latency_p50_ms", None, False, " ms", 0),
        Row("first appearance → name on stream (worst)", "first_name_ms", 300.0, False, " ms", 0),
        Row("first appearance → name on stream (median, info)", "first_name_median_ms", None, False, " ms", 0),
        Row("labels on the known face that name them", "label_accuracy_pct", 99.0, True, " %", 1),
        Row("on-screen frames carrying a label (info)", "label_coverage_pct", None, True, " %", 1),
        Row(f"cameras at ≥ 29 fps out each, of {cameras}, with recognition", "cameras_ok", float(cameras),
            True, "", 0),
        Row(f"CPU per {picture} camera, one face (% of one core)", "cpu_pct_per_camera", 50.0, False, " %", 0),
        Row("CPU: capture + drawing + output, main process (info)", "cpu_pct_main_per_camera", None, False,
            " %", 0),
        Row("CPU: recognition worker process (info)", "cpu_pct_worker_per_camera", None, False, " %", 0),
        Row("CPU: ffmpeg x264 + HLS (info)", "cpu_pct_ffmpeg_per_camera", None, False, " %", 0),
        *_floor_rows(cameras, picture),
        Row("match one face against 100,000 encodings (median)", "match_100k_ms", 5.0, False, " ms", 2),
        Row(f"memory growth over the {run}", "rss_growth_pct", 5.0, False, " %", 1),
        Row("daemon metric: latency p95 (histogram, info)", "daemon_latency_p95_ms", None, False, " ms", 0),
        Row("daemon metric: frames output / captured (info)", "daemon_output_per_captured", None, True, "", 3),
    ]


def _floor_rows(cameras: int, picture: str) -> list[Row]:
    """The floor (ffmpeg decoding the clip and encoding it again, nothing else: bench/floor.py) and every per-camera
    CPU figure as a multiple of it."""
    multi = [
        # A camera that falls behind also costs less: its CPU only counts beside its fps.
        Row(f"output fps of the slowest of {cameras} cameras (info)", "multi_fps_min", None, True, "", 1),
        Row(f"CPU per camera with {cameras} cameras (info)", "multi_cpu_pct_per_camera", None, False, " %", 0),
        Row(f"CPU per camera with {cameras} cameras ÷ floor", "multi_cpu_pct_per_camera_floor_ratio", 1.3, False,
            "", 2),
    ] if cameras > 1 else []
    return [
        Row("floor: ffmpeg decode + encode alone, 1 camera (info)", "floor_cpu_pct", None, False, " %", 1),
        Row("floor: ffmpeg decode (info)", "floor_decode_pct", None, False, " %", 1),
        Row("floor: ffmpeg encode (info)", "floor_encode_pct", None, False, " %", 1),
        Row("floor: frames per second through it (info)", "floor_fps", None, True, "", 1),
        Row(f"CPU per {picture} camera ÷ floor", "cpu_pct_per_camera_floor_ratio", 1.3, False, "", 2),
        Row("CPU: main process ÷ floor (info)", "cpu_pct_main_per_camera_floor_ratio", None, False, "", 2),
        Row("CPU: recognition worker ÷ floor (info)", "cpu_pct_worker_per_camera_floor_ratio", None, False, "", 2),
        Row("CPU: ffmpeg x264 + HLS ÷ floor (info)", "cpu_pct_ffmpeg_per_camera_floor_ratio", None, False, "", 2),
        *multi,
    ]


def _value(value: float | None, row: Row) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{row.digits}f}{row.unit}"


def _ratio(naive: float | None, ours: float | None, row: Row) -> str:
    if naive is None or ours is None or any(math.isnan(v) for v in (naive, ours)) or row.target is None:
        return ""
    better, worse = (ours, naive) if row.higher_is_better else (naive, ours)
    if worse == 0:
        return "∞×" if better > 0 else "1.0×"
    return f"{better / worse:.1f}×"


def verdict(value: float | None, row: Row) -> str:
    if row.target is None:
        return ""
    if value is None or math.isnan(value):
        return "n/a"
    ok = value >= row.target if row.higher_is_better else value <= row.target
    return "pass" if ok else "FAIL"


def table(naive: dict[str, float], ours: dict[str, float], table_rows: list[Row]) -> str:
    """A Markdown table (reads fine in a terminal too)."""
    def target(row: Row) -> str:
        if row.target is None:
            return ""
        return ("≥ " if row.higher_is_better else "≤ ") + _value(row.target, row)

    header = ["figure", "naive (seed design)", "facedaemon", "target", "better by", "facedaemon vs target"]
    lines: list[list[str]] = [header]
    for row in table_rows:
        a, b = naive.get(row.key), ours.get(row.key)
        lines.append([row.figure, _value(a, row), _value(b, row), target(row), _ratio(a, b, row), verdict(b, row)])
    out = [_cells(lines[0]), _cells(["---"] * len(header))]
    out.extend(_cells(line) for line in lines[1:])
    return "\n".join(out)


def _cells(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
