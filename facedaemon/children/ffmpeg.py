"""Which ffmpeg to run: the configured one, else the system's, else the one imageio-ffmpeg ships (sources decode
with it, outputs encode with it)."""

from __future__ import annotations

import os
import shutil


class FfmpegNotFound(RuntimeError):
    pass


def find_ffmpeg(configured: str | None = None) -> str:
    if configured:
        path = shutil.which(configured) or (configured if os.access(configured, os.X_OK) else None)
        if path is None:
            raise FfmpegNotFound(f"encoder.ffmpeg: {configured!r} is not an executable file")
        return path
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise FfmpegNotFound("no ffmpeg on PATH and the imageio-ffmpeg package is not installed") from exc
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise FfmpegNotFound(f"no ffmpeg on PATH and imageio-ffmpeg has none for this platform: {exc}") from exc
