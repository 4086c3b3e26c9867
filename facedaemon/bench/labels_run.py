"""One design over one labels clip, in a process of its own; prints one JSON line (LabelsRecorder.figures()).

Designs: "blazeface" (the daemon's pipeline, default config: the real worker process and the real ffmpeg encoder,
as `facedaemon bench` runs them), "hog" (the same with the former default detector), "seed" (the seed prototype,
bench/naive.py: no tracks, so no track figure).

Run by `facedaemon bench --labels` as `python -m facedaemon.bench.labels_run '<json spec>'`.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from facedaemon.bench.child import child_main
from facedaemon.bench.labels_clip import LabelsClip
from facedaemon.bench.labels_measure import LabelsRecorder
from facedaemon.bench.playback import pipeline_playing, play_through, seed_playing

WARMUP = 0.5


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
    model = None if spec.design == "blazeface" else spec.design
    with pipeline_playing(Path(clip.path), recorder, Path(spec.faces_dir), Path(spec.cache_dir), model):
        _play(clip, recorder)


def _seed(clip: LabelsClip, recorder: LabelsRecorder, faces_dir: Path) -> None:
    with seed_playing(Path(clip.path), recorder, faces_dir):
        _play(clip, recorder)


def _play(clip: LabelsClip, recorder: LabelsRecorder) -> None:
    """Until the clip has been captured to its last frame (the source loops; frames past `clip.frames` do not
    count), then a second more."""
    time.sleep(WARMUP)
    play_through(recorder, clip.frames, clip.fps)


def main(argv: list[str]) -> int:
    return child_main(argv, lambda spec: run(LabelsSpec(**spec)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
