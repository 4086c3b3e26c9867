"""The pattern's clock stripe survives a real H.264 encode (the daemon's ffmpeg settings) and a scaled decode."""

from __future__ import annotations

import subprocess

import numpy as np

from facedaemon import yuv
from facedaemon.sources.pattern import PatternSource
from facedaemon.sources.pattern_code import decode_code
from tests import ffmpegs
from tests.e2e.media import decode_video


def test_stripe_reads_back_after_h264_and_scaling(tmp_path):
    import cv2

    source = PatternSource("code", 1280, 720, fps=30)
    source.open()
    try:
        frames = [source.read() for _ in range(10)]
    finally:
        source.close()
    out = tmp_path / "code.mp4"
    cmd = [ffmpegs.SUITE(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "1280x720",
           "-r", "30", "-i", "pipe:0", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
           "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(cmd, input=b"".join(f.image.tobytes() for f in frames), check=True, timeout=60)
    decoded = decode_video(out)
    assert len(decoded) == len(frames)
    for original, image in zip(frames, decoded, strict=True):
        small = cv2.resize(image, (652, 367), interpolation=cv2.INTER_AREA)  # the page's <video> size
        assert decode_code(small) == int(original.captured * 1000) % (1 << 48)
        assert decode_code(image) == decode_code(small)
    assert np.abs(decoded[0].astype(int) - yuv.to_bgr(frames[0].image)).mean() < 10, "the same picture came back"
