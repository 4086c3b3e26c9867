"""Build the right FrameSource for a camera's config."""

from __future__ import annotations

import os
from pathlib import Path

from facedaemon.config.models import CameraConfig, SourceKind
from facedaemon.config.secrets import SecretError, expand_secrets, has_secrets
from facedaemon.redact import mask_credentials
from facedaemon.sources.base import Frame, FrameSource, SourceError
from facedaemon.sources.capture import CaptureSource
from facedaemon.sources.file import FileSource
from facedaemon.sources.rtsp import RtspSource


def make_source(camera: CameraConfig, ffmpeg: str | None = None) -> FrameSource:
    """Construct (not open) the source; opening happens in the camera's capture thread. ffmpeg: encoder.ffmpeg
    (files and RTSP cameras are decoded with it too)."""
    source = camera.source
    if source.kind is SourceKind.PATTERN:
        from facedaemon.sources.pattern import PatternSource

        return PatternSource(camera.name, camera.width or 1280, camera.height or 720, camera.fps or 30.0)
    if source.kind is SourceKind.FILE:
        return FileSource(Path(source.uri), loop=camera.loop, fps=camera.fps, ffmpeg=ffmpeg)
    if source.kind is not SourceKind.RTSP:
        return CaptureSource(source.uri, width=camera.width, height=camera.height, fps=camera.fps)
    uri = source.uri
    if has_secrets(uri):
        try:
            uri = expand_secrets(uri, os.environ, os.environ.get("CREDENTIALS_DIRECTORY"))
        except SecretError as exc:
            return MissingSecretSource(mask_credentials(source.uri), str(exc))
    rtsp = RtspSource(uri, ffmpeg=ffmpeg, transport=camera.rtsp_transport)
    if uri != source.uri:
        rtsp.description = mask_credentials(source.uri)  # logs show the placeholder, whatever the secret's shape
    return rtsp


class MissingSecretSource:
    """Stands for an RTSP source whose secret is missing: opening fails with why, so the camera retries with
    backoff (a credential file may appear later) and says so in its status instead of the capture thread dying."""

    def __init__(self, description: str, reason: str) -> None:
        self.description = description
        self._reason = reason

    def open(self) -> None:
        raise SourceError(f"cannot open {self.description}: {self._reason}")

    def read(self) -> Frame:
        raise SourceError("not open")

    def close(self) -> None:
        pass
