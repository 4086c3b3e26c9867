"""facedaemon's own pipeline under test: CameraPipeline + RecognitionWorker + Encoder writing real HLS."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path

from facedaemon.bench.measure import Recorder, histogram_quantile
from facedaemon.bench.sources import CountingSource
from facedaemon.config.models import CameraConfig, Config, RecognitionConfig, SourceConfig, SourceKind
from facedaemon.daemon.wiring import Wiring
from facedaemon.faces.types import RecognitionResult
from facedaemon.metrics.registry import DaemonMetrics
from facedaemon.pipeline.camera import CameraPipeline

READY_TIMEOUT = 180.0


class RecordingPipeline(CameraPipeline):
    """The daemon's CameraPipeline; remembers which frame and labels the output thread is about to write."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.drawing: tuple[float, tuple] = (0.0, ())

    def current_faces(self, frame_time: float, result: RecognitionResult | None) -> tuple:
        faces = super().current_faces(frame_time, result)
        self.drawing = (frame_time, faces)
        return faces


class RecordingSink:
    """The real Encoder; a frame ffmpeg accepted is reported to the recorder as output."""

    def __init__(self, encoder, recorder: Recorder) -> None:
        self._encoder = encoder
        self._recorder = recorder
        self.pipeline: RecordingPipeline | None = None

    def write(self, frame) -> bool:
        ok = self._encoder.write(frame)
        if ok and self.pipeline is not None:
            captured, faces = self.pipeline.drawing
            self._recorder.on_output(captured, time.time(), [face.name for face in faces], faces)
        return ok

    def stop(self, timeout: float = 3.0) -> None:
        self._encoder.stop(timeout)


def bench_config(clip: Path, faces_dir: Path, cache_dir: Path, runtime_dir: Path, cameras: int,
                 model: str | None = None) -> Config:
    recognition = RecognitionConfig() if model is None else RecognitionConfig(model=model)
    return Config(
        faces_dir=faces_dir, cache_dir=cache_dir, runtime_dir=runtime_dir, log_level="warning",
        recognition=recognition,
        cameras=tuple(CameraConfig(name=f"cam{i + 1}", source=SourceConfig(kind=SourceKind.FILE, uri=str(clip)),
                                   loop=True) for i in range(cameras)),
    )


class PipelineRun:
    """Worker first (models and gallery loaded), then every camera."""

    def __init__(self, config: Config, recorders: dict[str, Recorder]) -> None:
        self.metrics = DaemonMetrics.create(process=False)
        self.pipelines: dict[str, RecordingPipeline] = {}
        wiring = Wiring()  # the daemon's own parts, built as the daemon builds them
        self.worker = wiring.worker(config, on_result=self._on_result, on_restart=self.metrics.count_restart)
        for camera in config.cameras:
            recorder = recorders[camera.name]
            encoder = wiring.encoder(config, camera, h264_sink=None,
                                     on_restart=lambda name=camera.name: self.metrics.count_restart("encoder", name))
            sink = RecordingSink(encoder, recorder)
            pipeline = RecordingPipeline(
                camera, source_factory=lambda cam, rec=recorder: CountingSource(Path(cam.source.uri), rec),
                sink=sink, metrics=self.metrics, recognizer=self.worker)
            sink.pipeline = pipeline
            self.pipelines[camera.name] = pipeline

    def _on_result(self, result) -> None:
        pipeline = self.pipelines.get(result.camera)
        if pipeline is not None:
            pipeline.on_result(result)

    def start_worker(self) -> None:
        self.worker.start()
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.worker.ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"recognition worker not ready after {READY_TIMEOUT:.0f} s")
            self.worker.check()
            time.sleep(0.1)

    def start_cameras(self) -> None:
        for pipeline in self.pipelines.values():
            pipeline.start()

    def stop(self) -> None:
        stoppers = [threading.Thread(target=p.stop, args=(3.0,)) for p in self.pipelines.values()]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(5.0)
        self.worker.stop(timeout=5.0)

    def metric_values(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        values = {}
        for metric in self.metrics.registry.collect():
            for sample in metric.samples:
                values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return values


def daemon_figures(before: dict, after: dict, cameras: Iterable[str]) -> dict[str, float]:
    """What the daemon's own metrics say over the window: latency histogram p50/p95, output per captured."""

    def delta(name: str, labels: dict[str, str]) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    names = list(cameras)
    bounds = sorted({float(dict(labels)["le"]) for (name, labels) in after
                     if name == "facedaemon_frame_latency_seconds_bucket"})
    buckets = [(bound, sum(delta("facedaemon_frame_latency_seconds_bucket",
                                 {"camera": cam, "le": _le(bound)}) for cam in names)) for bound in bounds]
    captured = sum(delta("facedaemon_frames_captured_total", {"camera": cam}) for cam in names)
    output = sum(delta("facedaemon_frames_output_total", {"camera": cam}) for cam in names)
    return {
        "daemon_latency_p50_ms": histogram_quantile(buckets, 0.50) * 1000.0,
        "daemon_latency_p95_ms": histogram_quantile(buckets, 0.95) * 1000.0,
        "daemon_output_per_captured": output / captured if captured else float("nan"),
    }


def _le(bound: float) -> str:
    from prometheus_client.utils import floatToGoString

    return floatToGoString(bound)
