"""Distance of a face to the gallery by face height: where the neutral "face" label starts (faces/quality.py
ENCODE_MIN_PX and UNKNOWN_MIN_PX).

Each shared photo's face is shrunk to 12-100 px tall and pasted into a 1080p frame; BlazeFace finds it (or not)
and dlib encodes it at full resolution. The distance is to the nearest of Obama's other photos (obama2, obama3):
for obama.jpg it is how far the right person drifts as the face shrinks, for the others how close a stranger comes.

With --blur: at 40, 64 and 100 px, the face blurred (Gaussian, sigma in frame pixels) before pasting; each cell is
distance/sharpness (faces/quality.py face_sharpness at LIVE_SHARPNESS_SIDE, what the worker measures), where
MIN_LIVE_SHARPNESS comes from.

Usage: .venv/bin/python scripts/benchmarks/face_size_distance.py [--blur] [PHOTOS_DIR]
(PHOTOS_DIR: default devtools.shared_data())
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # devtools: importable from the checkout, not installed

from devtools import shared_data  # noqa: E402
from facedaemon.bench.range_clip import background, head, paste  # noqa: E402
from facedaemon.faces import engine  # noqa: E402
from facedaemon.faces.quality import LIVE_SHARPNESS_SIDE, face_sharpness  # noqa: E402

HEIGHTS = (12, 16, 20, 24, 28, 32, 40, 48, 64, 100)
BLUR_HEIGHTS = (40, 64, 100)
SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--blur"]
    shared = Path(args[0]) if args else shared_data()
    blur = "--blur" in sys.argv[1:]
    gallery, faces = load(shared)
    columns = [f"sigma {s:g}" for s in SIGMAS] if blur else [str(h) for h in HEIGHTS]
    width = 12 if blur else 7
    print(("px  photo".ljust(22) if blur else "photo".ljust(18)) + "".join(f"{c:>{width}}" for c in columns))
    for face_px in BLUR_HEIGHTS if blur else (None,):
        for name, bgr, box in faces:
            if blur:
                cells = [cell(measure(gallery, bgr, box, face_px, sigma), True) for sigma in SIGMAS]
                print(f"{face_px:<4}{name[:18]:18}" + "".join(f"{c:>12}" for c in cells))
            else:
                cells = [cell(measure(gallery, bgr, box, h), False) for h in HEIGHTS]
                print(name.ljust(18) + "".join(f"{c:>7}" for c in cells))


def load(shared: Path) -> tuple[np.ndarray, list[tuple[str, np.ndarray, tuple]]]:
    """Obama's two other photos' encodings, and each shared photo (BGR) with its HOG face box."""
    fr = engine.face_recognition_module()
    gallery = np.array([fr.face_encodings(fr.load_image_file(str(shared / "images" / p)))[0]
                        for p in ("obama2.jpg", "obama3.jpg")])
    faces = []
    for photo in [shared / "images" / "obama.jpg", shared / "images" / "biden.jpg",
                  *sorted((shared / "known_faces").glob("*.jpg"))]:
        rgb = fr.load_image_file(str(photo))
        faces.append((photo.name, np.ascontiguousarray(rgb[:, :, ::-1]), engine.detect(rgb, "hog", 1)[0]))
    return gallery, faces


def measure(gallery: np.ndarray, bgr: np.ndarray, box: tuple, face_px: int,
            sigma: float = 0.0) -> tuple[float, float] | None:
    """The face pasted `face_px` tall into a 1080p frame (blurred by `sigma` first): its distance to the gallery and
    its sharpness as the worker measures it; None when BlazeFace does not find it."""
    import cv2

    piece, dy, dx = head(bgr, box, face_px)
    if sigma:
        piece = cv2.GaussianBlur(piece, (0, 0), sigma)
    frame = background(1920, 1080)
    paste(frame, piece, 500 - dy, 900 - dx)
    found = engine.detect_regions(frame, [(0, 1920, 1080, 0)], 0.25, "blazeface", 1)
    if not found:
        return None
    rgb = engine.to_rgb(frame)
    distance = float(np.min(np.linalg.norm(gallery - engine.encode(rgb, found[:1])[0], axis=1)))
    return distance, face_sharpness(rgb, found[0], LIVE_SHARPNESS_SIDE)


def cell(result: tuple[float, float] | None, with_sharpness: bool) -> str:
    if result is None:
        return "-"
    return f"{result[0]:.2f}/{result[1]:.0f}" if with_sharpness else f"{result[0]:.2f}"

if __name__ == "__main__":
    main()
