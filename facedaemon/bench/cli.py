"""`facedaemon bench`: make the clip and gallery, run each design in a process of its own, print the table."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from facedaemon.bench.child import ChildFailed, child_env, run_child
from facedaemon.bench.clip import (
    KNOWN_NAME,
    EntryClip,
    count_frames,
    make_bench_gallery,
    make_entry_clip,
)
from facedaemon.bench.photos import ENV, shared_data
from facedaemon.bench.report import rows, table

if TYPE_CHECKING:
    from facedaemon.bench.phase import PhaseSpec

DEFAULT_SECONDS = 20.0
QUICK_SECONDS = 5.0
MATCH_ROWS = 100_000
MIN_FPS = 29.0
# Per-camera CPU figures also shown as a ratio to the floor (bench/floor.py).
FLOOR_RATIO_KEYS = ("cpu_pct_per_camera", "multi_cpu_pct_per_camera", "cpu_pct_main_per_camera",
                    "cpu_pct_worker_per_camera", "cpu_pct_ffmpeg_per_camera")
# The built clip per --resolution: frame size and the face's height in it.
PICTURES = {"720p": ((1280, 720), 150), "1080p": ((1920, 1080), 48)}
SPREAD_KEYS = ("cpu_pct_per_camera", "first_name_ms", "fps_ratio", "latency_p95_ms", "floor_cpu_pct",
               "cpu_pct_per_camera_floor_ratio")


class BenchError(Exception):
    """Missing input or a design that failed to run; the message says which."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=None,
                        help=f"measured seconds per design (default {DEFAULT_SECONDS:.0f}; 600 for the memory figure)")
    parser.add_argument("--cameras", type=int, default=3, help="cameras for the multi-camera figure (default 3)")
    parser.add_argument("--clip", type=Path, default=None,
                        help="a video where the known person appears at --appear-at seconds (default: made from "
                             "images/obama.jpg of --data)")
    parser.add_argument("--appear-at", type=float, default=2.0, help="when the known face appears in --clip")
    parser.add_argument("--name", default=KNOWN_NAME, help="the known person in the clip (default Obama)")
    parser.add_argument("--faces", type=Path, default=None,
                        help="known faces folder (default: Obama from obama2/3.jpg + known_faces/ of --data)")
    parser.add_argument("--data", type=Path, default=None,
                        help=f"the shared photos (default ${ENV}, else ../shared/data beside a checkout)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS:.0f} s per design, 1 camera (CI smoke)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="run facedaemon's phases this many times and report each figure's median (default 1; "
                             "3 with --labels)")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure to this JSON file")
    parser.add_argument("--resolution", choices=sorted(PICTURES), default="720p",
                        help="the built clip's picture: 720p with a 150 px face (default), or 1080p with one 48 px "
                             "face (issue 26's 1080p row: its CPU ÷ its own floor)")
    parser.add_argument("--range", action="store_true",
                        help="how far away faces are named: face heights 24-200 px in 720p and 1080p, against raw "
                             "face_recognition and the seed (see docs/faces.md and docs/performance.md)")
    parser.add_argument("--long", action="store_true", help="with --range: the face-free clip runs 10 minutes")
    parser.add_argument("--labels", action="store_true",
                        help="are labels right: a known person turning and walking up, strangers, both, per "
                             "detector, through the real daemon path (see docs/performance.md)")
    parser.add_argument("--footage", type=Path, default=None,
                        help="with --labels: a folder holding obama.mp4 (cleardusk/3DDFA at 3545f355): adds the "
                             "real clip of a known person turning his head; never downloaded at run time")
    parser.add_argument("--clips", default=None,
                        help="with --labels: only these clips, comma-separated (turn, walk, strangers, both, footage)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="with --labels --footage: only the real clip, looped this many minutes (the unknown "
                             "events about a known person; 10 for the issue's figure)")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except BenchError as exc:
        print(f"facedaemon bench: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.labels:
        from facedaemon.bench.labels import LabelsError
        from facedaemon.bench.labels import run as run_labels

        try:
            return run_labels(args, _shared(args))
        except LabelsError as exc:
            raise BenchError(str(exc)) from exc
    if args.range:
        from facedaemon.bench.range_cli import RangeError, run

        try:
            return run(args, _shared(args))
        except RangeError as exc:
            raise BenchError(str(exc)) from exc
    from facedaemon.bench.phase import PhaseSpec

    seconds = args.seconds or (QUICK_SECONDS if args.quick else DEFAULT_SECONDS)
    cameras = 1 if args.quick else max(1, args.cameras)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="facedaemon-bench-") as tmp_name:
        tmp = Path(tmp_name)
        clip = _clip(args, tmp)
        faces = args.faces or make_bench_gallery(_shared(args), tmp / "faces")
        if not faces.is_dir():
            raise BenchError(f"known faces folder {faces} does not exist")

        def spec(design: str, count: int) -> PhaseSpec:
            return PhaseSpec(design, str(clip.path), clip.fps, clip.frames, clip.appear_at, clip.name, str(faces),
                             str(tmp / "cache"), seconds, count)

        _say(f"clip {clip.path.name}: {clip.frames} frames at {clip.fps} fps, {clip.name} appears at "
             f"{clip.appear_at:g} s; {seconds:g} s measured per design")
        repeat = max(1, args.repeat or 1)
        naive = _phase(spec("naive", 1))
        ours = _median_rounds([_round(spec, cameras) for _ in range(repeat)])
        # The seed design already misses 29 fps with one camera; more cameras only share its one consumer.
        if cameras > 1:
            naive["cameras_ok"] = _phase(spec("naive", cameras))["cameras_ok"] if naive["fps_out"] >= MIN_FPS else 0
        naive.update(floor_ratios(naive, ours["floor_cpu_pct"]))
    naive["match_100k_ms"], ours["match_100k_ms"] = match_figures()
    load_after = os.getloadavg()
    picture = f"{args.resolution}{clip.fps}" if args.clip is None else f"{clip.fps} fps"
    print(table(naive, ours, rows(seconds, cameras, picture)))
    print()
    if "repeat" in ours:
        print(_spread(ours))
    print(_machine(load_before, load_after))
    print(f"command: facedaemon bench {' '.join(sys.argv[2:]) if sys.argv[1:2] == ['bench'] else ''}".rstrip())
    if args.json is not None:
        args.json.write_text(json.dumps({"naive": naive, "facedaemon": ours, "seconds": seconds,
                                         "cameras": cameras, "machine": _machine(load_before, load_after)}, indent=2))
    return 0


def _shared(args: argparse.Namespace) -> Path:
    shared = args.data.resolve() if args.data else shared_data()
    if shared is None:
        raise BenchError(f"where are the test photos? give --data DIR or set {ENV} (or --clip and --faces)")
    if not (shared / "images" / "obama.jpg").is_file():
        raise BenchError(f"test photos not found in {shared} (give --data DIR, or --clip and --faces)")
    return shared


def _clip(args: argparse.Namespace, tmp: Path) -> EntryClip:
    if args.clip is None:
        size, face_px = PICTURES[args.resolution]
        _say(f"making the {args.resolution} clip (a {face_px} px face) …")
        # Something moves on every frame: a still scene costs the encoder (and the floor) next to nothing.
        return make_entry_clip(_shared(args), tmp / "entry.mp4", mover=True, size=size, face_px=face_px)
    if not args.clip.is_file():
        raise BenchError(f"clip {args.clip} does not exist")
    import cv2

    capture = cv2.VideoCapture(str(args.clip))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    frames = count_frames(args.clip)
    if not frames or not fps:
        raise BenchError(f"clip {args.clip} is not a video OpenCV can read")
    return EntryClip(args.clip.resolve(), round(fps), frames, args.appear_at, args.name)


def _phase(spec: PhaseSpec) -> dict[str, float]:
    _say(f"running {spec.design} with {spec.cameras} camera(s) …")
    try:
        return run_child("facedaemon.bench.phase", asdict(spec), spec.design, timeout=spec.seconds + 300)
    except ChildFailed as exc:
        raise BenchError(str(exc)) from exc


def _round(spec: Callable[[str, int], PhaseSpec], cameras: int) -> dict[str, float]:
    """The floor, then facedaemon with one camera and with `cameras`, back to back: each ratio to the floor is
    taken within one round, so load that changes between rounds moves both sides of it."""
    floor = _phase(spec("floor", 1))
    figures = _phase(spec("pipeline", 1))
    figures.update(floor)
    if cameras > 1:
        multi = _phase(spec("pipeline", cameras))
        figures["cameras_ok"], figures["multi_fps_min"] = multi["cameras_ok"], multi["fps_out"]
        figures["multi_cpu_pct_per_camera"] = multi["cpu_pct_per_camera"]
    figures.update(floor_ratios(figures, floor["floor_cpu_pct"]))
    return figures


def floor_ratios(figures: dict[str, float], floor_pct: float) -> dict[str, float]:
    """Every per-camera CPU figure divided by the floor (ffmpeg decode + encode alone)."""
    return {f"{key}_floor_ratio": figures[key] / floor_pct for key in FLOOR_RATIO_KEYS
            if key in figures and floor_pct > 0}


def _median_rounds(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds (a shared VM's noise moves single runs by several percent)."""
    import numpy as np

    if len(runs) == 1:
        return runs[0]
    merged = {key: float(np.nanmedian([run.get(key, float("nan")) for run in runs])) for key in runs[0]}
    for key in SPREAD_KEYS:
        merged[f"{key}_runs"] = [run.get(key) for run in runs]  # type: ignore[assignment]
    merged["repeat"] = float(len(runs))
    return merged


def _spread(ours: dict) -> str:
    def show(key: str, unit: str, digits: int) -> str:
        return ", ".join(f"{value:.{digits}f}{unit}" for value in ours[f"{key}_runs"])

    return (f"facedaemon: median of {ours['repeat']:.0f} runs each; single runs: CPU per camera "
            f"{show('cpu_pct_per_camera', ' %', 0)}; first appearance → name (worst) "
            f"{show('first_name_ms', ' ms', 0)}; "
            f"fps ratio {show('fps_ratio', '', 3)}; latency p95 {show('latency_p95_ms', ' ms', 0)}; floor "
            f"{show('floor_cpu_pct', ' %', 1)}; CPU per camera ÷ floor {show('cpu_pct_per_camera_floor_ratio', '', 2)}")


def match_figures(rows_: int = MATCH_ROWS, runs: int = 51) -> tuple[float, float]:
    """Median ms to name one face against `rows_` encodings: the seed's way, then facedaemon's (worst query kind).

    Measured in a process of its own with one OpenBLAS thread, as the recognition worker runs.
    """
    env = child_env()
    env["OPENBLAS_NUM_THREADS"] = "1"
    try:
        done = subprocess.run([sys.executable, "-m", "facedaemon.bench.match", str(rows_), str(runs)],
                              capture_output=True, text=True, env=env, timeout=600)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"the match figure did not finish in {exc.timeout:.0f} s") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BenchError(f"the match figure failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    result = json.loads(lines[-1])
    return result["naive_ms"], max(result["stranger_ms"], result["known_ms"])


def _machine(before: tuple[float, ...], after: tuple[float, ...]) -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"machine: {os.cpu_count()} × {model}, {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}; load average {before[0]:.2f} before, {after[0]:.2f} after "
            f"(other work on the machine skews every figure)")


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)
