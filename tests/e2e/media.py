"""Build test videos from the shared photos with the same ffmpeg the daemon uses, and read HLS back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from facedaemon.outputs.ffmpeg_binary import find_ffmpeg


def make_people_clip(shared: Path, out: Path, seconds: float = 6.0, fps: int = 30) -> Path:
    """720p: Obama moves left to right the whole time; Biden shows up between 2 s and 4 s."""
    images = shared / "images"
    graph = (
        # Head and shoulders, faces 140-170 px tall: found by HOG at the default scale 0.25.
        "[1:v]crop=iw:ih*0.55:0:0,scale=-2:340,format=rgb24[a];"
        "[2:v]crop=iw:ih*0.38:0:0,scale=-2:420,format=rgb24[b];"
        f"[0:v][a]overlay=x='20+t*{240 / seconds:.3f}':y=150:shortest=1[v1];"
        "[v1][b]overlay=x=780:y=120:enable='between(t,2,4)',format=yuv420p[v]"
    )
    cmd = [
        find_ffmpeg(), "-y", "-loglevel", "error",
        "-f", "lavfi", "-i", f"color=c=0x505050:s=1280x720:r={fps}:d={seconds}",
        "-loop", "1", "-i", str(images / "obama.jpg"),
        "-loop", "1", "-i", str(images / "biden.jpg"),
        "-filter_complex", graph, "-map", "[v]", "-t", str(seconds), "-r", str(fps),
        "-c:v", "libx264", "-preset", "veryfast", "-g", str(fps), str(out),
    ]
    subprocess.run(cmd, check=True, timeout=120)
    return out


def decode_video(path: Path) -> list[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        capture.release()
    return frames


def colour_pixels(frame: np.ndarray, bgr: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels are within tolerance of a colour (H.264 shifts colours a little)."""
    diff = np.abs(frame.astype(np.int16) - np.array(bgr, np.int16)).max(axis=2)
    return int((diff <= tolerance).sum())
