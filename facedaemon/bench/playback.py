"""A clip played through one design until it has been captured, shared by the range and labels runs
(bench/range_run.py, bench/labels_run.py): the daemon's pipeline (the real worker process and ffmpeg encoder, as
`facedaemon bench` runs them) or the seed prototype (bench/naive.py), reporting to a recorder.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

TAIL = 1.0  # seconds after the clip's last frame was captured (its results reach the output)


class Played(Protocol):
    last_index: int  # the last clip frame captured

    def on_capture(self, index: int, captured: float) -> None: ...

    def on_output(self, captured: float, written: float, names, faces=()) -> None: ...


@contextmanager
def pipeline_playing(clip: Path, recorder: Played, faces_dir: Path, cache_dir: Path,
                     model: str | None) -> Iterator[None]:
    """The daemon's pipeline on the looping clip, one camera, default config (`model`: another detector)."""
    from facedaemon.bench.pipeline import PipelineRun, bench_config

    with tempfile.TemporaryDirectory(prefix="facedaemon-play-") as runtime:
        config = bench_config(clip, faces_dir, cache_dir, Path(runtime), 1, model)
        run = PipelineRun(config, {config.cameras[0].name: recorder})  # type: ignore[dict-item]
        try:
            run.start_worker()
            run.start_cameras()
            yield
        finally:
            run.stop()


@contextmanager
def seed_playing(clip: Path, recorder: Played, faces_dir: Path) -> Iterator[None]:
    """The seed prototype on the looping clip."""
    from facedaemon.bench.naive import NaiveCamera, load_known

    known, names = load_known(faces_dir)
    camera = NaiveCamera(clip, recorder, known, names)  # type: ignore[arg-type]
    camera.start()
    try:
        yield
    finally:
        camera.stop()


def play_through(recorder: Played, frames: int, fps: float, seconds: float = 0.0, already: float = 0.0) -> None:
    """Until the clip has been captured to its last frame (a slow start must not cut its end off), or for
    `seconds` in all when longer (`already` of them spent warming up), then TAIL more. A stalled source ends the run
    after three times its length and a minute; its missing frames show in the figures."""
    started = time.monotonic()
    deadline = started + 3 * max(seconds, frames / fps) + 60
    while time.monotonic() < deadline and (recorder.last_index < frames - 1
                                           or time.monotonic() - started < seconds - already):
        time.sleep(0.1)
    time.sleep(TAIL)
