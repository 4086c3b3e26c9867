"""Build the right FrameSource for a camera's config."""

from __future__ import annotations

from pathlib import Path

from facedaemon.config.models import CameraConfig, SourceKind
from facedaemon.sources.base import FrameSource


def make_source(camera: CameraConfig) -> FrameSource:
    """Construct (not open) the source; opening happens in the camera's capture thread."""
    source = camera.source
    if source.kind is SourceKind.PATTERN:
        from facedaemon.sources.pattern import PatternSource

        return PatternSource(camera.name, camera.width or 1280, camera.height or 720, camera.fps or 30.0)
    if source.kind is SourceKind.FILE:
        from facedaemon.sources.file import FileSource

        return FileSource(Path(source.uri), loop=camera.loop, fps=camera.fps)
    from facedaemon.sources.capture import CaptureSource

    return CaptureSource(source.uri, rtsp=source.kind is SourceKind.RTSP, width=camera.width,
                         height=camera.height, fps=camera.fps)
