"""What the recognition worker spends per camera on a clip, without real time: every frame of the clip through the
daemon's SubmitPacer (which frames go to recognition) and RecognitionChild.recognise (what the worker does with
them), in one process, on a simulated clock. Counts BlazeFace forwards and face encodings, and the CPU of
recognise() per simulated second (as % of one core): the worker's share of `facedaemon bench`, reproducible to a
forward on a loaded machine, where the real-time bench is not.

Usage: .venv/bin/python scripts/benchmarks/worker_replay.py CLIP FACES_DIR [LOOPS=3] [APPEAR_AT=2.0]
  e.g. the bench's clip: python -c "from pathlib import Path; from facedaemon.bench.clip import *;
       make_entry_clip(Path('SHARED'), Path('/tmp/entry.mp4'), mover=True); make_bench_gallery(Path('SHARED'),
       Path('/tmp/faces'))"
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import cv2

from facedaemon import yuv
from facedaemon.config.models import RecognitionConfig
from facedaemon.faces import detect, engine
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


def main() -> None:
    clip, faces = Path(sys.argv[1]), Path(sys.argv[2])
    loops = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    appear_at = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    frames = frames_of(clip)
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
        try:
            for index in range(len(frames) * loops):
                clock.now = 1000.0 + index / fps
                at = index % len(frames)
                image = frames[at]
                if at == 0:
                    named = False
                if not pacer.wants(clock.now, latest, image):
                    continue
                block = blocks.put("cam", image)
                request = Request("cam", block.name, tuple(image.shape), clock.now, pacer.hint)
                began = time.process_time()
                latest = worker.recognise(request)
                cpu += time.process_time() - began
                results += 1
                pacer.sent(clock.now, latest, image)
                if not named and at / fps >= appear_at and any(face.name != "face" for face in latest.faces):
                    named = True
                    first_names.append(round(at / fps - appear_at, 3))
        finally:
            worker.close()
            blocks.release_all()
    seconds = len(frames) * loops / fps
    print(json.dumps({"worker_cpu_pct": round(100 * cpu / seconds, 2), "results_per_s": round(results / seconds, 2),
                      "forwards_per_s": round(counts["forwards"] / seconds, 2),
                      "encodings_per_s": round(counts["encodings"] / seconds, 3),
                      "first_label_after_appearing_s": first_names, "simulated_s": seconds}))


if __name__ == "__main__":
    main()
