"""What the recognition worker spends per camera on a clip, without real time: every frame of the clip through the
daemon's SubmitPacer (which frames go to recognition) and RecognitionChild.recognise (what the worker does with
them), in one process, on a simulated clock. Counts BlazeFace forwards and face encodings, and the CPU of
recognise() per simulated second (as % of one core): the worker's share of `facedaemon bench`, reproducible to a
forward on a loaded machine, where the real-time bench is not.

Usage: .venv/bin/python scripts/benchmarks/worker_replay.py [CLIP FACES_DIR [LOOPS=3 [APPEAR_AT=2.0]]]
           [--loops N] [--gap SECONDS] [--resolution 720p|1080p] [--data SHARED]
  Without CLIP and FACES_DIR the bench's own clip and gallery are built from the shared photos (--data, else
  $FACEDAEMON_SHARED_DATA): `facedaemon bench`'s 720p clip with a 150 px face, or with --resolution 1080p its
  1080p clip with one 48 px face; both walk right at 60 px/s and loop every 8 s (each loop a new face).
  --gap SECONDS: at least this long between frames sent, as a worker that answers late (a loaded machine, a Pi)
  allows: the pacer's frames in between are refused as a busy worker refuses them.
  --labels-clip KIND: instead, one of `facedaemon bench --labels`'s clips (turn, walk, strangers, both; the full
  durations) and its gallery, each result's faces checked against the clip's truth: names given to the wrong
  face, and tracks shared by two people (one face's track carried over to someone else).
  Prints the counts (forwards, encodings, results, tracks made: distinct track ids in the results) per simulated
  second and the first label after the face appears in each loop.
  To replay another commit's worker: PYTHONPATH=CHECKOUT .venv/bin/python scripts/benchmarks/worker_replay.py ...
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from facedaemon import yuv
from facedaemon.config.models import RecognitionConfig
from facedaemon.faces import detect, engine
from facedaemon.faces.boxes import iou
from facedaemon.faces.types import Box, is_person
from facedaemon.pipeline.pacing import SubmitPacer
from facedaemon.worker import child as child_module
from facedaemon.worker.frames import FrameBlocks
from facedaemon.worker.protocol import ChildSettings, Request


class Clock:
    """Stands in for the child's `time` module: monotonic() is the clip's clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    @staticmethod
    def perf_counter() -> float:
        return time.perf_counter()

    @staticmethod
    def time() -> float:
        return time.time()


def frames_of(clip: Path) -> list:
    capture = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(yuv.from_bgr(bgr))
    capture.release()
    return frames


def counting(counts: dict[str, int]) -> None:
    infer, encode = detect.BlazeFace.infer, engine.encode

    def counted_infer(self, inputs, *, bgr):
        counts["forwards"] += len(inputs)
        return infer(self, inputs, bgr=bgr)

    def counted_encode(rgb, boxes):
        counts["encodings"] += len(boxes)
        return encode(rgb, boxes)

    detect.BlazeFace.infer = counted_infer  # type: ignore[method-assign]
    engine.encode = counted_encode


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", nargs="?", type=Path, help="a video; default: the bench's clip (--resolution)")
    parser.add_argument("faces", nargs="?", type=Path, help="its known faces folder; default: the bench's gallery")
    parser.add_argument("loops_pos", nargs="?", type=int, metavar="LOOPS", help="(old form of --loops)")
    parser.add_argument("appear_pos", nargs="?", type=float, metavar="APPEAR_AT", help="(old form of --appear-at)")
    parser.add_argument("--loops", type=int, default=3, help="times through the clip (default 3)")
    parser.add_argument("--appear-at", type=float, default=2.0, help="when the face appears in the clip (default 2)")
    parser.add_argument("--gap", type=float, default=0.0,
                        help="at least this many seconds between frames sent, as a late worker allows (default 0)")
    parser.add_argument("--resolution", choices=("720p", "1080p"), default="720p",
                        help="the built clip: 720p with a 150 px face, or 1080p with one 48 px face")
    parser.add_argument("--data", type=Path, default=None, help="the shared photos (default $FACEDAEMON_SHARED_DATA)")
    parser.add_argument("--labels-clip", choices=("turn", "walk", "strangers", "both"), default=None,
                        help="replay a labels bench clip and check every result against its truth")
    args = parser.parse_args()
    if (args.clip is None) != (args.faces is None):
        parser.error("give both CLIP and FACES_DIR, or neither")
    args.loops = args.loops_pos if args.loops_pos is not None else args.loops
    args.appear_at = args.appear_pos if args.appear_pos is not None else args.appear_at
    return args


def shared_photos(args: argparse.Namespace) -> Path:
    shared = args.data or (Path(os.environ["FACEDAEMON_SHARED_DATA"]) if "FACEDAEMON_SHARED_DATA" in os.environ
                           else None)
    if shared is None:
        raise SystemExit("worker_replay: give CLIP and FACES_DIR, or --data SHARED (or set FACEDAEMON_SHARED_DATA)")
    return shared


def built(args: argparse.Namespace, tmp: Path) -> tuple[Path, Path]:
    """The bench's clip at --resolution and its gallery, made from the shared photos into `tmp`."""
    from facedaemon.bench.cli import PICTURES
    from facedaemon.bench.clip import make_bench_gallery, make_entry_clip

    shared = shared_photos(args)
    size, face_px = PICTURES[args.resolution]
    clip = make_entry_clip(shared, tmp / "entry.mp4", appear_at=args.appear_at, mover=True, size=size,
                           face_px=face_px)
    return clip.path, make_bench_gallery(shared, tmp / "faces")


def labels_clip(args: argparse.Namespace, tmp: Path) -> tuple[Path, Path, Callable[[int], list[Truth]]]:
    """A labels bench clip, its gallery and its truth: (person or None for a stranger, appearance, box) per face."""
    from facedaemon.bench.labels import make_gallery
    from facedaemon.bench.labels_clip import Durations, make_labels_clip

    shared = shared_photos(args)
    clip = make_labels_clip(shared, tmp / "labels.mp4", args.labels_clip, Durations())

    def truth(index: int) -> list[Truth]:
        return [(p.person, p.appearance, box) for p, box in clip.truth(index)]

    return Path(clip.path), make_gallery(shared, tmp / "faces"), truth


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as tmp:
        truth = None
        if args.labels_clip is not None:
            clip, faces, truth = labels_clip(args, Path(tmp))
            args.loops, args.appear_at = 1, float("inf")
        elif args.clip is not None:
            clip, faces = args.clip, args.faces
        else:
            clip, faces = built(args, Path(tmp))
        frames = frames_of(clip)
        name = args.labels_clip or (args.resolution if args.clip is None else str(clip))
        print(json.dumps({"clip": name, "gap_s": args.gap,
                          **replay(frames, faces, args.loops, args.appear_at, args.gap, truth)}))


Truth = tuple[str | None, int, Box]  # who (None: a stranger), which appearance, the face's box


class Checker:
    """Each result's faces against the clip's truth: a face is the truth face its box overlaps most (IoU ≥ 0.3)."""

    def __init__(self) -> None:
        self.wrong = 0  # faces shown with a person's name that is not theirs (a stranger named, or another person)
        self.judged = 0  # faces matched to a truth face
        self.people: dict[int, set[tuple[str | None, int]]] = {}  # track id → the appearances it was drawn on

    def check(self, faces: tuple, truth: list[Truth]) -> None:
        for face in faces:
            best = max(truth, key=lambda t: iou(face.box, t[2]), default=None)
            if best is None or iou(face.box, best[2]) < 0.3:
                continue
            self.judged += 1
            self.people.setdefault(face.track, set()).add((best[0], best[1]))
            if is_person(face.name) and face.name != best[0]:
                self.wrong += 1

    def figures(self) -> dict:
        # The known person coming back is the same person; each stranger's appearance is someone else.
        people = [{who or f"stranger {appearance}" for who, appearance in seen} for seen in self.people.values()]
        return {"faces_checked": self.judged, "wrongly_named": self.wrong,
                "tracks_on_two_people": sum(len(who) > 1 for who in people),
                "tracks_on_two_appearances": sum(len(seen) > 1 for seen in self.people.values())}


def replay(frames: list, faces: Path, loops: int, appear_at: float, gap: float,
           truth: Callable[[int], list[Truth]] | None = None) -> dict:
    fps = 30.0
    clock = Clock()
    child_module.time = clock  # type: ignore[assignment]
    counts = {"forwards": 0, "encodings": 0}
    counting(counts)
    engine.one_cv_thread()
    with tempfile.TemporaryDirectory() as cache:
        settings = ChildSettings(faces, Path(cache), RecognitionConfig())
        worker = child_module.RecognitionChild(settings)
        worker.known, worker.negatives, _ = child_module._load(settings)
        counts["forwards"] = counts["encodings"] = 0  # the warm-up's
        blocks, pacer, latest = FrameBlocks(), SubmitPacer(), None
        cpu, results, first_names, named = 0.0, 0, [], False
        tracks: set[int] = set()
        names: set[str] = set()  # every label shown: a wrong person's name would be among them
        checker = Checker()
        last_sent = float("-inf")
        try:
            for index in range(len(frames) * loops):
                clock.now = 1000.0 + index / fps
                at = index % len(frames)
                image = frames[at]
                if at == 0:
                    named = False
                if clock.now - last_sent < gap - 1e-9:
                    continue  # the worker is still busy with the last frame: a late worker refuses this one
                if not pacer.wants(clock.now, latest, image):
                    continue
                last_sent = clock.now
                block = blocks.put("cam", image)
                request = Request("cam", block.name, tuple(image.shape), clock.now, pacer.hint)
                began = time.process_time()
                latest = worker.recognise(request)
                cpu += time.process_time() - began
                results += 1
                tracks.update(face.track for face in latest.faces)
                if truth is not None:
                    checker.check(latest.faces, truth(at))
                names.update(face.name for face in latest.faces)
                pacer.sent(clock.now, latest, image)
                if not named and at / fps >= appear_at and any(face.name != "face" for face in latest.faces):
                    named = True
                    first_names.append(round(at / fps - appear_at, 3))
        finally:
            worker.close()
            blocks.release_all()
    seconds = len(frames) * loops / fps
    return {"worker_cpu_pct": round(100 * cpu / seconds, 2), "results_per_s": round(results / seconds, 2),
            "forwards_per_s": round(counts["forwards"] / seconds, 2),
            "encodings": counts["encodings"], "encodings_per_s": round(counts["encodings"] / seconds, 3),
            "tracks_made": len(tracks), "labels_shown": sorted(names),
            "first_label_after_appearing_s": first_names, "simulated_s": seconds,
            **(checker.figures() if truth is not None else {})}


if __name__ == "__main__":
    main()
