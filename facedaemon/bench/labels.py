"""`facedaemon bench --labels`: is each label one a household can act on? The known person turning his head and
walking up, strangers, and both together, through the real daemon path, per detector.

Builds the gallery (the known person's other photos and one other person) and the clips (bench/labels_clip.py),
runs each design over each clip `--repeat` times in a process of its own (bench/labels_run.py), and prints the
medians and every run (bench/labels_report.py) with the machine's load. With `--footage DIR`, also the real clip of
the known person turning his head (bench/labels_footage.py); without it that row is "not run", saying how to get
the footage. `--minutes M` runs the real clip alone, looped M minutes (the unknown events about a known person).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from facedaemon.bench.child import ChildFailed, run_child
from facedaemon.bench.labels_clip import (
    FOOTAGE,
    KINDS,
    KNOWN_PERSON,
    QUICK,
    SECOND_PERSON,
    SECOND_PHOTO,
    Durations,
    LabelsClip,
    make_labels_clip,
)
from facedaemon.bench.labels_footage import QUICK_SECONDS, SECONDS, footage_clip, footage_file, not_run_note, prepare
from facedaemon.bench.labels_report import table
from facedaemon.bench.labels_run import LabelsSpec

DETECTORS = ("blazeface", "hog")
QUICK_DETECTORS = ("blazeface",)
SEED_CLIP = "turn"  # the seed's design runs on the first clip only (the "for the first row")
DEFAULT_REPEAT = 3


class LabelsError(Exception):
    pass


def make_gallery(shared: Path, out: Path) -> Path:
    """Two people: the known person from his other photos (obama2/3.jpg; the clips show obama.jpg) and one other.
    Every other person of the shared photos is a stranger to it."""
    known = out / KNOWN_PERSON
    known.mkdir(parents=True, exist_ok=True)
    for photo in ("obama2.jpg", "obama3.jpg"):
        shutil.copyfile(shared / "images" / photo, known / photo)
    other = out / SECOND_PERSON
    other.mkdir(exist_ok=True)
    shutil.copyfile(shared / SECOND_PHOTO, other / Path(SECOND_PHOTO).name)
    return out


def run(args: argparse.Namespace, shared: Path) -> int:
    quick = bool(args.quick)
    alone = args.minutes is not None  # the real clip only, looped that long
    repeat = max(1, args.repeat) if args.repeat is not None else (1 if quick or alone else DEFAULT_REPEAT)
    durations = QUICK if quick else Durations()
    designs = QUICK_DETECTORS if quick or alone else DETECTORS
    footage = footage_file(args.footage)
    kinds = _kinds(args.clips)
    if FOOTAGE not in kinds:
        footage = None
    if alone and footage is None:
        raise LabelsError(not_run_note(args.footage))
    seconds = 60.0 * args.minutes if alone else (QUICK_SECONDS if quick else SECONDS)
    load_before = os.getloadavg()
    results: dict[str, dict[str, list[dict]]] = {}
    with tempfile.TemporaryDirectory(prefix="facedaemon-labels-") as tmp_name:
        tmp = Path(tmp_name)
        faces = make_gallery(shared, tmp / "faces")
        for kind in () if alone else [k for k in KINDS if k in kinds]:
            _say(f"making the {kind} clip …")
            clip = make_labels_clip(shared, tmp / f"{kind}.mp4", kind, durations)
            results[kind] = {}
            for design in (*designs, "seed") if kind == SEED_CLIP and not quick else designs:
                results[kind][design] = [_run(LabelsSpec(design, clip.to_json(), str(faces), str(tmp / "cache")))
                                         for _ in range(repeat)]
        if footage is not None:
            _say(f"preparing {footage} …")
            fps, file_frames = prepare(footage, tmp / "footage.mp4")
            clip = footage_clip(tmp / "footage.mp4", fps, file_frames, seconds)
            results[FOOTAGE] = {design: [_run(LabelsSpec(design, clip.to_json(), str(faces), str(tmp / "cache")))
                                         for _ in range(repeat)] for design in designs}
    load_after = os.getloadavg()
    print(f"Median of {repeat} run(s) per line; samples are output frames (every frame the stream shows), "
          "percentages of the labelled ones.\n")
    print(table(results))
    for line in footage_report(kinds, footage, results, seconds, args.footage):
        print(line)
    print(f"\nmachine: {os.cpu_count()} cores; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          "(other work on the machine skews every figure)")
    if args.json is not None:
        args.json.write_text(json.dumps({"quick": quick, "repeat": repeat, "durations": asdict(durations),
                                         "results": results, "load": [load_before[0], load_after[0]]}, indent=2))
    return 0


def _kinds(clips: str | None) -> tuple[str, ...]:
    """The clips to run (--clips a,b: a subset, to re-measure a few rows); every clip by default."""
    every = (*KINDS, FOOTAGE)
    if clips is None:
        return every
    chosen = tuple(c.strip() for c in clips.split(",") if c.strip())
    unknown = [c for c in chosen if c not in every]
    if unknown or not chosen:
        raise LabelsError(f"--clips: {', '.join(unknown) or 'none given'} (choose from {', '.join(every)})")
    return chosen


def footage_report(kinds: tuple[str, ...], footage: Path | None, results: dict[str, dict[str, list[dict]]],
                   seconds: float, asked: Path | None) -> list[str]:
    """The lines about the real clip: "not run" with how to get it, or each run's reasons; none when --clips left
    it out."""
    if FOOTAGE not in kinds:
        return []
    if footage is None or FOOTAGE not in results:
        return ["", not_run_note(asked)]
    return ["", f"real footage: {footage}, scaled/padded to 720p, looped {seconds:g} s per run",
            *_looks_lines(results[FOOTAGE])]


def _looks_lines(by_design: dict[str, list[dict]]) -> list[str]:
    """Why the known person was drawn Unknown or "face" on the real clip: each run's reasons, its first samples."""
    lines = []
    for design, runs in by_design.items():
        for number, figures in enumerate(runs, 1):
            lines.append(f"{design} run {number}: {figures['known'].get('tracks_drawn')} tracks drawn on him; "
                         f"samples of him not named, by label and reason: {figures['reasons']}")
            for look in figures["looks"]:
                after = ", after his first name" if look.get("named_before") else ""
                lines.append(f"  {look['label']} at {look['ms']} ms (file frame {look['frame']}{after}), track "
                             f"{look['track']}, distance {look['distance']}, not judged: {look['not_judged']}")
    return lines


def _run(spec: LabelsSpec) -> dict:
    clip = LabelsClip.from_json(spec.clip)
    seconds = clip.frames / clip.fps
    _say(f"running {spec.design} on the {clip.kind} clip ({seconds:.0f} s) …")
    try:
        return run_child("facedaemon.bench.labels_run", asdict(spec), f"{spec.design} {clip.kind}",
                         timeout=max(900.0, 3 * seconds + 300))
    except ChildFailed as exc:
        raise LabelsError(str(exc)) from exc


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)
