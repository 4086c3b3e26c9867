"""One design measured in a process of its own (so CPU and memory are that design's alone).

Run by `facedaemon bench` as `python -m facedaemon.bench.phase '<json spec>'`; prints one JSON line of figures.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from facedaemon.bench.child import child_main
from facedaemon.bench.clip import EntryClip
from facedaemon.bench.measure import Recorder, Window, figures
from facedaemon.bench.naive import NaiveCamera, load_known
from facedaemon.bench.pipeline import PipelineRun, bench_config, daemon_figures
from facedaemon.bench.probe import TreeSampler

WARMUP = 1.0  # seconds after the cameras start before counting (ffmpeg start, first frames)


@dataclass(frozen=True)
class PhaseSpec:
    design: str  # "naive" | "pipeline" | "floor"
    clip: str
    fps: int
    frames: int
    appear_at: float
    name: str
    faces_dir: str
    cache_dir: str
    seconds: float
    cameras: int = 1

    def entry_clip(self) -> EntryClip:
        return EntryClip(Path(self.clip), self.fps, self.frames, self.appear_at, self.name)


def run_phase(spec: PhaseSpec) -> dict[str, float]:
    clip = spec.entry_clip()
    if spec.design == "naive":
        return _run_naive(spec, clip)
    if spec.design == "pipeline":
        return _run_pipeline(spec, clip)
    if spec.design == "floor":
        return _run_floor(spec, clip)
    raise ValueError(f"unknown design {spec.design!r}")


def _recorder(spec: PhaseSpec, clip: EntryClip, window: Window) -> Recorder:
    return Recorder(clip, window, capacity=int((spec.seconds + 5) * clip.fps * 1.5))


def _measure(window: Window, recorders: list[Recorder], fps: int) -> tuple[dict[str, float], TreeSampler]:
    time.sleep(max(0.0, window.start - time.time()))
    sampler = TreeSampler(interval=1.0)
    sampler.start()
    time.sleep(max(0.0, window.end - time.time()))
    sampler.stop()
    result = figures(recorders, cpu_cores=sampler.cpu_cores(), rss=sampler.rss_series(), source_fps=fps)
    for role, cores in sampler.cpu_by_role().items():
        result[f"cpu_pct_{role}_per_camera"] = 100.0 * cores / max(1, len(recorders))
    return result, sampler


def _run_naive(spec: PhaseSpec, clip: EntryClip) -> dict[str, float]:
    known, names = load_known(Path(spec.faces_dir))
    start = time.time()
    window = Window(start + WARMUP, start + WARMUP + spec.seconds)
    recorders = [_recorder(spec, clip, window) for _ in range(spec.cameras)]
    cameras = [NaiveCamera(clip.path, rec, known, names) for rec in recorders]
    for camera in cameras:
        camera.start()
    try:
        result, _ = _measure(window, recorders, clip.fps)
    finally:
        for camera in cameras:
            camera.stop()
    return result


def _run_pipeline(spec: PhaseSpec, clip: EntryClip) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="facedaemon-bench-") as runtime:
        config = bench_config(clip.path, Path(spec.faces_dir), Path(spec.cache_dir), Path(runtime), spec.cameras)
        # The window is not known before the worker is ready; recorders get it when the cameras start.
        window = Window(0.0, 0.0)
        recorders = {camera.name: _recorder(spec, clip, window) for camera in config.cameras}
        run = PipelineRun(config, recorders)
        try:
            run.start_worker()
            start = time.time()
            window.start, window.end = start + WARMUP, start + WARMUP + spec.seconds
            run.start_cameras()
            time.sleep(max(0.0, window.start - time.time()))
            before = run.metric_values()
            result, _ = _measure(window, list(recorders.values()), clip.fps)
            after = run.metric_values()
            hls_segments = sum(len(list((Path(runtime) / name).glob("seg_*.m4s"))) for name in recorders)
        finally:
            run.stop()
    result.update(daemon_figures(before, after, recorders))
    result["hls_segments"] = float(hls_segments)
    stats = run.worker.stats()
    result["worker_results_per_s"] = stats.results / max(1e-9, spec.seconds + WARMUP)
    # The worker's cost is mostly face encodings (~100 ms each), not results: how many, and the wall time a result took.
    result["worker_encoded_per_s"] = stats.encoded / max(1e-9, spec.seconds + WARMUP)
    result["worker_ms_per_result"] = 1000.0 * stats.inference_seconds / max(1, stats.results)
    return result


def _run_floor(spec: PhaseSpec, clip: EntryClip) -> dict[str, float]:
    from facedaemon.bench.floor import run_floor

    with tempfile.TemporaryDirectory(prefix="facedaemon-bench-") as runtime:
        config = bench_config(clip.path, Path(spec.faces_dir), Path(spec.cache_dir), Path(runtime), 1)
        return run_floor(config, WARMUP, spec.seconds)


def main(argv: list[str]) -> int:
    return child_main(argv, lambda spec: run_phase(PhaseSpec(**spec)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
