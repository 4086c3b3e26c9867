"""One design over one labels clip, in a process of its own; prints one JSON line (LabelsRecorder.figures()).

Designs: "blazeface" (the daemon's pipeline, default config: the real worker process and the real ffmpeg encoder,
as `facedaemon bench` runs them), "hog" (the same with the former default detector), "seed" (the seed prototype,
bench/naive.py: no tracks, so no track figure).

Run by `facedaemon bench --labels` as `python -m facedaemon.bench.labels_run '<json spec>'`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from facedaemon.bench.child import child_main
from facedaemon.bench.labels_clip import LabelsClip
from facedaemon.bench.labels_measure import LabelsRecorder

WARMUP = 0.5
TAIL = 1.0  # seconds after the clip's last frame was captured (its results reach the output)


@dataclass(frozen=True)
class LabelsSpec:
    design: str
    clip: str  # LabelsClip as JSON
    faces_dir: str
    cache_dir: str


def run(spec: LabelsSpec) -> dict:
    clip = LabelsClip.from_json(spec.clip)
    recorder = LabelsRecorder(clip)
    load_before = os.getloadavg()[0]
    if spec.design == "seed":
        _seed(clip, recorder, Path(spec.faces_dir))
    else:
        _pipeline(clip, recorder, spec)
    recorder.finish()
    # The load beside each run: on a shared machine it explains most of the spread between runs.
    return recorder.figures() | {"tracks": spec.design != "seed", "load": [load_before, os.getloadavg()[0]]}


def _pipeline(clip: LabelsClip, recorder: LabelsRecorder, spec: LabelsSpec) -> None:
    from facedaemon.bench.pipeline import PipelineRun, bench_config

    model = None if spec.design == "blazeface" else spec.design
    with tempfile.TemporaryDirectory(prefix="facedaemon-labels-") as runtime:
        config = bench_config(Path(clip.path), Path(spec.faces_dir), Path(spec.cache_dir), Path(runtime), 1, model)
        run = PipelineRun(config, {config.cameras[0].name: recorder})  # type: ignore[dict-item]
        try:
            run.start_worker()
            run.start_cameras()
            _play_through(clip, recorder)
        finally:
            run.stop()


def _seed(clip: LabelsClip, recorder: LabelsRecorder, faces_dir: Path) -> None:
    from facedaemon.bench.naive import NaiveCamera, load_known

    known, names = load_known(faces_dir)
    camera = NaiveCamera(Path(clip.path), recorder, known, names)  # type: ignore[arg-type]
    camera.start()
    try:
        _play_through(clip, recorder)
    finally:
        camera.stop()


def _play_through(clip: LabelsClip, recorder: LabelsRecorder) -> None:
    """Until the clip has been captured to its last frame (the source loops; only the first pass counts), then
    TAIL more; a stalled source ends the run after three times the clip's length."""
    time.sleep(WARMUP)
    deadline = time.monotonic() + 3 * clip.frames / clip.fps + 60
    while time.monotonic() < deadline and recorder.last_index < clip.frames - 1:
        time.sleep(0.1)
    time.sleep(TAIL)


def main(argv: list[str]) -> int:
    return child_main(argv, lambda spec: run(LabelsSpec(**spec)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
