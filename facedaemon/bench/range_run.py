"""One design over one range clip, in a process of its own (CPU is that design's alone); prints one JSON line.

Designs: "facedaemon" (the daemon's pipeline, default config), "hog" (the pipeline with the former default,
HOG at scale 0.25), "seed" (the seed prototype, bench/naive.py), "raw" (face_recognition at full resolution on
sampled frames, HOG upsample 1: the model's own limit, offline, far from real time).

Run by `facedaemon bench --range` as `python -m facedaemon.bench.range_run '<json spec>'`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedaemon.bench.child import child_main
from facedaemon.bench.clip import KNOWN_NAME
from facedaemon.bench.probe import TreeSampler
from facedaemon.bench.range_clip import RangeClip
from facedaemon.bench.range_measure import RangeRecorder
from facedaemon.faces.types import FaceResult

WARMUP = 1.0
TAIL = 1.0  # seconds measured after the clip's last frame was captured (its results reach the output)
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
    from facedaemon.bench.pipeline import PipelineRun, bench_config

    model = "hog" if spec.design == "hog" else None
    with tempfile.TemporaryDirectory(prefix="facedaemon-range-") as runtime:
        config = bench_config(Path(clip.path), Path(spec.faces_dir), Path(spec.cache_dir), Path(runtime), 1, model)
        run = PipelineRun(config, {config.cameras[0].name: recorder})  # type: ignore[dict-item]
        try:
            run.start_worker()
            run.start_cameras()
            time.sleep(WARMUP)
            sampler.start()
            _play_through(clip, recorder, seconds)
            sampler.stop()
        finally:
            run.stop()


def _seed(clip: RangeClip, recorder: RangeRecorder, faces_dir: Path, seconds: float, sampler: TreeSampler) -> None:
    from facedaemon.bench.naive import NaiveCamera, load_known

    known, names = load_known(faces_dir)
    camera = NaiveCamera(Path(clip.path), recorder, known, names)  # type: ignore[arg-type]
    camera.start()
    try:
        time.sleep(WARMUP)
        sampler.start()
        _play_through(clip, recorder, seconds)
        sampler.stop()
    finally:
        camera.stop()


def _play_through(clip: RangeClip, recorder: RangeRecorder, seconds: float) -> None:
    """Until the clip has been captured to its last frame (a slow start must not cut the last heights off), or for
    `seconds` when longer (the face-free clip loops), then TAIL more."""
    started = time.monotonic()
    deadline = started + 3 * seconds + 60  # a stalled source ends the run; its missing frames show in the table
    while time.monotonic() < deadline and (recorder.last_index < clip.frames - 1
                                           or time.monotonic() - started < seconds - WARMUP):
        time.sleep(0.1)
    time.sleep(TAIL)


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
