"""Build test videos from the shared photos with the same ffmpeg the daemon uses, and read HLS back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facedaemon.bench.clip import make_entry_clip, make_people_clip

__all__ = ["colour_pixels", "decode_video", "make_entry_clip", "make_people_clip"]


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


def obama_gallery(shared: Path, faces: Path) -> Path:
    """faces/Obama/ with obama2.jpg and obama3.jpg: the known person of the people clip (which shows obama.jpg)."""
    import shutil

    (faces / "Obama").mkdir(parents=True, exist_ok=True)
    for name in ("obama2.jpg", "obama3.jpg"):
        shutil.copy(shared / "images" / name, faces / "Obama" / name)
    return faces
