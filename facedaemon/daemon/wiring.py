"""Building each part the arbiter owns from the config, in one place: the arbiter asks a Wiring for its parts,
and tests hand it one that builds fakes (as gunicorn's tests give its arbiter fake workers).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from facedaemon.children.ffmpeg import find_ffmpeg
from facedaemon.config.models import CameraConfig, Config
from facedaemon.daemon.web_server import WebServer
from facedaemon.events.hub import EventHub
from facedaemon.faces.types import RecognitionResult
from facedaemon.history.recorder import HistoryRecorder
from facedaemon.metrics.registry import DaemonMetrics
from facedaemon.outputs.encoder import Encoder, H264Sink
from facedaemon.outputs.live.hub import LiveHub
from facedaemon.outputs.rtsp.server import RtspServer
from facedaemon.runtime.snapshots import Grab, SnapshotStore
from facedaemon.sources.base import FrameSource
from facedaemon.sources.factory import make_source
from facedaemon.worker.client import RecognitionWorker

OnRestart = Callable[[str], None]


class Wiring:
    def worker(self, config: Config, *, on_result: Callable[[RecognitionResult], None],
               on_restart: OnRestart) -> RecognitionWorker:
        return RecognitionWorker(config, on_result=on_result, on_restart=on_restart)

    def events(self, config: Config, metrics: DaemonMetrics, *, grab: Grab) -> EventHub | None:
        """grab(camera, callback): the camera's next annotated frame, for the arrivals' snapshots."""
        events = config.events
        wanted = events.snapshots.enabled and bool(events.webhook.url or events.mqtt.host)  # the log shows none
        snapshots = SnapshotStore(events.snapshots, config.runtime_dir, grab) if wanted else None
        return EventHub.from_config(config, metrics, snapshots)

    def history(self, config: Config, metrics: DaemonMetrics) -> HistoryRecorder | None:
        return HistoryRecorder.from_config(config, metrics)

    def rtsp(self, config: Config, *, on_restart: OnRestart) -> RtspServer:
        return RtspServer(config, on_restart=on_restart)

    def web(self, config: Config, config_path: Path, *, on_restart: OnRestart) -> WebServer:
        return WebServer(config, config_path, on_restart=on_restart)

    def encoder(self, config: Config, camera: CameraConfig, *, on_restart: Callable[[], None],
                h264_sink: H264Sink | None, live_sink: H264Sink | None = None) -> Encoder:
        return Encoder(camera.name, find_ffmpeg(config.encoder.ffmpeg), config.runtime_dir / camera.name,
                       config.hls, config.encoder, fps_hint=camera.fps or 30.0, on_restart=on_restart,
                       h264_sink=h264_sink, live_sink=live_sink)

    def live(self, config: Config, metrics: DaemonMetrics) -> LiveHub:
        return LiveHub(config.runtime_dir, on_viewers=metrics.live_viewers, on_frames=metrics.live_frames,
                       max_viewers=config.live.max_viewers)

    def source(self, config: Config, camera: CameraConfig) -> FrameSource:
        return make_source(camera, config.encoder.ffmpeg)
