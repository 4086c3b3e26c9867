"""`facedaemon bench --range`: how far away facedaemon names people, against the model's limit and the seed.

Builds the clips (bench/range_clip.py), runs each design over each clip in a process of its own
(bench/range_run.py), and prints the per-height table, the issue's targets, and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from facedaemon.bench.child import ChildFailed, run_child
from facedaemon.bench.clip import make_bench_gallery
from facedaemon.bench.range_clip import RangeClip, make_range_clip
from facedaemon.bench.range_run import RangeSpec

HEIGHTS = [24, 32, 40, 48, 64, 96, 128, 200]
QUICK_HEIGHTS = [32, 48, 128]
RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
NAMED_SHARE = 90.0  # % of frames: the "named in ≥ 90 % of frames"
FACE_FREE_SECONDS, LONG_SECONDS, QUICK_SECONDS = 30.0, 600.0, 4.0
CPU_SECONDS, QUICK_CPU_SECONDS = 20.0, 5.0


class RangeError(Exception):
    pass


def run(args: argparse.Namespace, shared: Path) -> int:
    quick = bool(args.quick)
    repeat = max(1, args.repeat or 1)
    load_before = os.getloadavg()
    report: dict = {"quick": quick, "repeat": repeat}
    with tempfile.TemporaryDirectory(prefix="facedaemon-range-") as tmp_name:
        tmp = Path(tmp_name)
        faces = make_bench_gallery(shared, tmp / "faces")
        designs = ["facedaemon"] if quick else ["facedaemon", "hog", "seed", "raw"]
        resolutions = ["1080p"] if quick else ["720p", "1080p"]
        report["range"] = {}
        for res in resolutions:
            width, height = RESOLUTIONS[res]
            _say(f"making the {res} range clip …")
            clip = make_range_clip(shared, tmp / f"range-{res}.mp4", width, height,
                                   QUICK_HEIGHTS if quick else HEIGHTS, show_s=3.0 if quick else 4.0)
            report["range"][res] = {d: _runs(d, clip, faces, tmp, repeat if d == "facedaemon" else 1)
                                    for d in designs}
        _say("making the one-face 1080p clip (48 px) …")
        one = make_range_clip(shared, tmp / "one-48.mp4", 1920, 1080, [48], strangers=False, gap_s=2.0,
                              show_s=QUICK_CPU_SECONDS if quick else CPU_SECONDS)
        report["one_face_1080p"] = _runs("facedaemon", one, faces, tmp, repeat)
        if not quick:  # the former default on the same clip: what naming small faces costs, next to it
            report["one_face_1080p_hog"] = _runs("hog", one, faces, tmp, 1)
        _say("making the face-free clip …")
        empty = make_range_clip(shared, tmp / "empty.mp4", 1920, 1080, [0], faces=False,
                                show_s=QUICK_SECONDS if quick else 10.0, gap_s=0.0)
        seconds = LONG_SECONDS if args.long else (QUICK_SECONDS if quick else FACE_FREE_SECONDS)
        report["face_free"] = _runs("facedaemon", empty, faces, tmp, 1, seconds)
        if not quick:
            from facedaemon.bench.group import group_figures

            _say("group photo: blazeface, hog and cnn (cnn takes a while) …")
            report["group"] = group_figures(shared)
    report["machine_load"] = [load_before[0], os.getloadavg()[0]]
    print(render(report))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def _runs(design: str, clip: RangeClip, faces: Path, tmp: Path, repeat: int, seconds: float = 0.0) -> list[dict]:
    spec = RangeSpec(design, clip.to_json(), str(faces), str(tmp / "cache"), seconds)
    return [_run(spec) for _ in range(repeat)]


def _run(spec: RangeSpec) -> dict:
    _say(f"running {spec.design} on {Path(RangeClip.from_json(spec.clip).path).name} …")
    try:
        return run_child("facedaemon.bench.range_run", asdict(spec), spec.design, timeout=3600)
    except ChildFailed as exc:
        raise RangeError(str(exc)) from exc


# --- the report ----------------------------------------------------------------------------------------------------

def median(values: list[float]) -> float:
    clean = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.median(clean)) if clean else float("nan")


def row_median(runs: list[dict], height: str, side: str, kind: str) -> float:
    return median([run["heights"].get(height, {}).get(side, {}).get(kind, float("nan")) for run in runs])


def first_name(runs: list[dict], height: str) -> float:
    """The worst first appearance → name over the runs (ms); inf when an appearance was never named."""
    values: list[float] = []
    for run in runs:
        row = run["heights"].get(height, {})
        if row.get("missed"):
            return math.inf
        values.extend(row.get("first_name_ms", []))
    return max(values) if values else float("nan")


def smallest_named(runs: list[dict]) -> float:
    """The smallest height from which every larger one is named in ≥ NAMED_SHARE % of its frames."""
    heights = sorted(int(h) for h in runs[0]["heights"])
    best = math.nan
    for h in reversed(heights):
        if row_median(runs, str(h), "known", "right") >= NAMED_SHARE:
            best = h
        else:
            break
    return best


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0f}"


def _ms(value: float) -> str:
    if math.isinf(value):
        return "never"
    return "n/a" if math.isnan(value) else f"{value:.0f}"


def range_table(res: str, by_design: dict[str, list[dict]]) -> list[str]:
    lines = [f"### {res}: known face (gallery: other photos) and a stranger side by side, each height 4 s",
             "",
             "| face px | design | known: right | wrong | Unknown | face | no box | stranger: named | Unknown | face "
             "| no box | first appearance → name (ms, worst) | CPU % of one core |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    heights = sorted({int(h) for runs in by_design.values() for run in runs for h in run["heights"]})
    for h in heights:
        for design, runs in by_design.items():
            k = [row_median(runs, str(h), "known", kind) for kind in ("right", "wrong", "unknown", "face", "none")]
            s = [row_median(runs, str(h), "stranger", kind) for kind in ("wrong", "unknown", "face", "none")]
            cpu = median([run.get("cpu_pct", float("nan")) for run in runs])
            lines.append(f"| {h} | {design} | " + " | ".join(_pct(v) for v in k + s)
                         + f" | {_ms(first_name(runs, str(h)))} | {_pct(cpu)} |")
    return lines


def render(report: dict) -> str:
    out = ["Frames counted from 1 s after the faces appear; percentages of those frames; medians over runs.", ""]
    for res, by_design in report["range"].items():
        out += [*range_table(res, by_design), ""]
    out += targets(report)
    load = report["machine_load"]
    out += ["", f"load average {load[0]:.2f} before, {load[1]:.2f} after, on {os.cpu_count()} cores "
            "(other work on the machine skews every figure)"]
    return "\n".join(out)


def targets(report: dict) -> list[str]:
    rows = ["| target | facedaemon | wanted | verdict |", "|---|---|---|---|"]

    def add(name: str, value: float, wanted: float, text: str, lower: bool = True) -> None:
        ok = not math.isnan(value) and (value <= wanted if lower else value >= wanted)
        rows.append(f"| {name} | {text} | {'≤' if lower else '≥'} {wanted:g} | {'pass' if ok else 'FAIL'} |")

    for res, wanted in (("1080p", 40), ("720p", 32)):
        runs = report["range"].get(res, {}).get("facedaemon")
        if runs:
            value = smallest_named(runs)
            add(f"smallest face named in ≥ 90 % of frames, {res} (px)", value, wanted, _pct(value))
    one = report["one_face_1080p"]
    first = first_name(one, "48")
    add("first appearance → name, one 48 px face, 1080p (ms, worst)", first, 600, _ms(first))
    cpu = median([run["cpu_pct"] for run in one])
    add("CPU per 1080p30 camera, one 48 px face (% of one core)", cpu, 60, _cpu_text(cpu, one, report))
    boxes = sum(run["false_boxes"] for run in report["face_free"])
    frames = sum(run["frames_out"] for run in report["face_free"])
    add(f"boxes on the face-free clip ({frames} frames)", boxes, 0, str(boxes))
    group = report.get("group")
    if group:
        ours, cnn = group["blazeface"]["found"], group["cnn"]["found"]
        share = 100.0 * ours / cnn if cnn else float("nan")
        add("group photo: faces found vs cnn (%)", share, 90, f"{ours} of cnn's {cnn} "
            f"({group['cnn']['seconds']:.1f} s; hog {group['hog']['found']}; {group['blazeface']['faces']} faces)",
            lower=False)
    return rows


def _cpu_text(cpu: float, one: list[dict], report: dict) -> str:
    """The one-face CPU (median `cpu`) with its parts (main process, worker, ffmpeg) and the former default on the
    same clip."""
    roles = ", ".join(f"{role} {_pct(median([run['cpu_pct_by_role'].get(role, float('nan')) for run in one]))}"
                      for role in ("main", "worker", "ffmpeg"))
    text = f"{_pct(cpu)} ({roles})"
    hog = report.get("one_face_1080p_hog")
    if hog:
        text += f"; former default hog: {_pct(median([run['cpu_pct'] for run in hog]))}"
    return text


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)
