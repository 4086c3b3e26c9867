"""One design over one range clip, in a process of its own (CPU is that design's alone); prints one JSON line.

Designs: "facedaemon" (the daemon's pipeline, default config), "hog" (the pipeline with the former default,
HOG at scale 0.25), "seed" (the seed prototype, bench/naive.py), "raw" (face_recognition at full resolution on
sampled frames, HOG upsample 1: the model's own limit, offline, far from real time).

Run by `facedaemon bench --range` as `python -m facedaemon.bench.range_run '<json spec>'`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedaemon.bench.child import child_main
from facedaemon.bench.clip import KNOWN_NAME
from facedaemon.bench.playback import pipeline_playing, play_through, seed_playing
from facedaemon.bench.probe import TreeSampler
from facedaemon.bench.range_clip import RangeClip
from facedaemon.bench.range_measure import RangeRecorder
from facedaemon.faces.types import FaceResult

WARMUP = 1.0
RAW_SAMPLES = 4  # frames per segment the raw design looks at (each takes seconds at 1080p)


@dataclass(frozen=True)
class RangeSpec:
    design: str
    clip: str  # RangeClip as JSON
    faces_dir: str
    cache_dir: str
    seconds: float = 0.0  # how long to run; 0: one pass of the clip


def run(spec: RangeSpec) -> dict:
    clip = RangeClip.from_json(spec.clip)
    if spec.design == "raw":
        return _raw(clip, Path(spec.faces_dir))
    recorder = RangeRecorder(clip, KNOWN_NAME)
    seconds = spec.seconds or clip.frames / clip.fps
    sampler = TreeSampler(interval=1.0)
    if spec.design == "seed":
        _seed(clip, recorder, Path(spec.faces_dir), seconds, sampler)
    else:
        _pipeline(clip, recorder, spec, seconds, sampler)
    recorder.finish()
    result = recorder.figures()
    result["cpu_pct"] = 100.0 * sampler.cpu_cores()
    result["cpu_pct_by_role"] = {role: 100.0 * cores for role, cores in sampler.cpu_by_role().items()}
    return result


def _pipeline(clip: RangeClip, recorder: RangeRecorder, spec: RangeSpec, seconds: float,
              sampler: TreeSampler) -> None:
    model = "hog" if spec.design == "hog" else None
    with pipeline_playing(Path(clip.path), recorder, Path(spec.faces_dir), Path(spec.cache_dir), model):
        _sampled(clip, recorder, seconds, sampler)


def _seed(clip: RangeClip, recorder: RangeRecorder, faces_dir: Path, seconds: float, sampler: TreeSampler) -> None:
    with seed_playing(Path(clip.path), recorder, faces_dir):
        _sampled(clip, recorder, seconds, sampler)


def _sampled(clip: RangeClip, recorder: RangeRecorder, seconds: float, sampler: TreeSampler) -> None:
    """The CPU sampled from after the warm-up until the clip has played (the face-free clip loops for `seconds`)."""
    time.sleep(WARMUP)
    sampler.start()
    play_through(recorder, clip.frames, clip.fps, seconds, already=WARMUP)
    sampler.stop()


def _raw(clip: RangeClip, faces_dir: Path) -> dict:
    """face_recognition as its README shows it, on full-resolution frames: detection HOG upsample 1."""
    import cv2

    from facedaemon.bench.naive import load_known, seed_match
    from facedaemon.faces import engine

    fr = engine.face_recognition_module()
    known, names = load_known(faces_dir)
    recorder = RangeRecorder(clip, KNOWN_NAME)
    wanted = {seg.start + round((seg.end - seg.start) * (k + 0.5) / RAW_SAMPLES)
              for seg in clip.segments for k in range(RAW_SAMPLES)}
    capture = cv2.VideoCapture(clip.path)
    spent, frames, index = 0.0, 0, 0
    try:
        while True:
            ok = capture.grab()
            if not ok:
                break
            if index in wanted or (not clip.faces and index % clip.fps == 0):
                _, bgr = capture.retrieve()
                rgb = np.ascontiguousarray(bgr[:, :, ::-1])
                started = time.process_time()
                boxes = fr.face_locations(rgb, number_of_times_to_upsample=1)
                encodings = fr.face_encodings(rgb, boxes)
                faces = [FaceResult(*seed_match(known, names, enc), None, tuple(box), 0)  # type: ignore[arg-type]
                         for box, enc in zip(boxes, encodings, strict=True)]
                spent += time.process_time() - started
                frames += 1
                recorder.on_capture(index, float(index))
                recorder.on_output(float(index), float(index), [f.name for f in faces], faces)
            index += 1
    finally:
        capture.release()
    result = recorder.figures()
    for row in result["heights"].values():
        row["first_name_ms"] = []  # sampled frames: no timing
    result["seconds_per_frame"] = spent / frames if frames else float("nan")
    result["cpu_pct"] = 100.0 * result["seconds_per_frame"] * clip.fps  # cores it would need at the clip's rate
    return result


def main(argv: list[str]) -> int:
    return child_main(argv, lambda spec: run(RangeSpec(**spec)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
