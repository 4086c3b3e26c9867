"""CPU of the daemon's Encoder.write per frame (the calling thread's CPU time) and of its ffmpeg, frames written at
30 fps: what handing a frame to the encoder costs the camera's output thread.

Usage: .venv/bin/python scripts/benchmarks/encoder_write.py [WIDTH=1280] [HEIGHT=720] [SECONDS=10]
(for another commit's encoder: PYTHONPATH=TREE before it)
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from facedaemon import yuv
from facedaemon.bench.probe import cpu_seconds
from facedaemon.children.ffmpeg import find_ffmpeg
from facedaemon.config.models import EncoderConfig, HlsConfig
from facedaemon.outputs.encoder import Encoder

FPS = 30


def frames(width: int, height: int) -> list[np.ndarray]:
    """A second of a box crossing a grey picture (the encoder never sees a still)."""
    made = []
    for index in range(FPS):
        image = np.full((height, width, 3), 90, np.uint8)
        x = (index * 20) % (width - 100)
        image[100:200, x:x + 100] = 230
        made.append(yuv.from_bgr(image))
    return made


def main() -> None:
    width, height, seconds = (int(sys.argv[1]) if len(sys.argv) > 1 else 1280,
                              int(sys.argv[2]) if len(sys.argv) > 2 else 720,
                              float(sys.argv[3]) if len(sys.argv) > 3 else 10.0)
    pictures = frames(width, height)
    with tempfile.TemporaryDirectory() as tmp:
        encoder = Encoder("cam", find_ffmpeg(None), Path(tmp) / "cam", HlsConfig(), EncoderConfig())
        try:
            for picture in pictures:  # ffmpeg started and settled
                encoder.write(picture)
                time.sleep(1 / FPS)
            pid = encoder.pid
            assert pid is not None, encoder.last_error
            ffmpeg_before, thread_before = cpu_seconds(pid), time.thread_time()
            count, started = int(seconds * FPS), time.monotonic()
            for index in range(count):
                encoder.write(pictures[index % FPS])
                time.sleep(max(0.0, started + (index + 1) / FPS - time.monotonic()))
            thread_used, ffmpeg_used = time.thread_time() - thread_before, cpu_seconds(pid) - ffmpeg_before
        finally:
            encoder.stop()
    print(json.dumps({"write_us_per_frame": round(1e6 * thread_used / count),
                      "ffmpeg_pct": round(100 * ffmpeg_used / seconds, 2)}))


if __name__ == "__main__":
    main()
