"""Which ffmpeg to run: the configured one, else the system's, else the one imageio-ffmpeg ships."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from facedaemon.outputs.ffmpeg_args import HLS_DURATION_BSF


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


# The probe runs the duration filter on one generated frame: an ffmpeg whose setts knows no NEXT_DTS refuses it.
_PROBE_SECONDS = 10.0


@functools.lru_cache(maxsize=8)
def has_lookahead_setts(ffmpeg: str) -> bool:
    """True if this ffmpeg's setts bitstream filter can read the next packet's DTS (what HLS_DURATION_BSF needs).

    Run once per binary (cached): a one-frame encode to the null muxer, ~0.1 s.
    """
    argv = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i",
            "color=size=16x16:rate=10:duration=0.3", "-c:v", "rawvideo", "-bsf:v", HLS_DURATION_BSF, "-f", "null",
            "-"]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=_PROBE_SECONDS)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
