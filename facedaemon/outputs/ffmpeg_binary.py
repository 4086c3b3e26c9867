"""What the chosen ffmpeg can do (see children/ffmpeg.py for which one is chosen)."""

from __future__ import annotations

import functools
import subprocess

from facedaemon.outputs.ffmpeg_args import HLS_DURATION_BSF

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
