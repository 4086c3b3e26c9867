"""Distance of a face to the gallery by face height: where the neutral "face" label starts (worker/child.py
ENCODE_MIN_PX and UNKNOWN_MIN_PX).

Each shared photo's face is shrunk to 12-100 px tall and pasted into a 1080p frame; BlazeFace finds it (or not)
and dlib encodes it at full resolution. The distance is to the nearest of Obama's other photos (obama2, obama3):
for obama.jpg it is how far the right person drifts as the face shrinks, for the others how close a stranger comes.

With --blur: at 40, 64 and 100 px, the face blurred (Gaussian, sigma in frame pixels) before pasting; each cell is
distance/sharpness (faces/quality.py face_sharpness at LIVE_SHARPNESS_SIDE, what the worker measures), where
MIN_LIVE_SHARPNESS comes from.

Usage: .venv/bin/python scripts/benchmarks/face_size_distance.py [--blur] [../shared/data]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from facedaemon.bench.range_clip import background, head, paste
from facedaemon.faces import engine
from facedaemon.faces.quality import LIVE_SHARPNESS_SIDE, face_sharpness

HEIGHTS = (12, 16, 20, 24, 28, 32, 40, 48, 64, 100)
BLUR_HEIGHTS = (40, 64, 100)
SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--blur"]
    shared = Path(args[0] if args else Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
    if "--blur" in sys.argv[1:]:
        blur_table(shared)
        return
    fr = engine.face_recognition_module()
    gallery = np.array([fr.face_encodings(fr.load_image_file(str(shared / "images" / p)))[0]
                        for p in ("obama2.jpg", "obama3.jpg")])
    photos = [shared / "images" / "obama.jpg", shared / "images" / "biden.jpg",
              *sorted((shared / "known_faces").glob("*.jpg"))]
    print("photo".ljust(18) + "".join(f"{h:>7}" for h in HEIGHTS))
    for photo in photos:
        rgb = fr.load_image_file(str(photo))
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        box = engine.detect(rgb, "hog", 1)[0]
        cells = []
        for face_px in HEIGHTS:
            piece, dy, dx = head(bgr, box, face_px)
            frame = background(1920, 1080)
            paste(frame, piece, 500 - dy, 900 - dx)
            found = engine.detect_regions(frame, [(0, 1920, 1080, 0)], 0.25, "blazeface", 1)
            if not found:
                cells.append("-")
                continue
            encoding = engine.encode(engine.to_rgb(frame), found[:1])[0]
            cells.append(f"{float(np.min(np.linalg.norm(gallery - encoding, axis=1))):.2f}")
        print(photo.name.ljust(18) + "".join(f"{c:>7}" for c in cells))


def blur_table(shared: Path) -> None:
    import cv2

    fr = engine.face_recognition_module()
    gallery = np.array([fr.face_encodings(fr.load_image_file(str(shared / "images" / p)))[0]
                        for p in ("obama2.jpg", "obama3.jpg")])
    photos = [shared / "images" / "obama.jpg", shared / "images" / "biden.jpg",
              *sorted((shared / "known_faces").glob("*.jpg"))]
    print("px  photo".ljust(22) + "".join(f"{'sigma ' + format(s, 'g'):>12}" for s in SIGMAS))
    for face_px in BLUR_HEIGHTS:
        for photo in photos:
            rgb = fr.load_image_file(str(photo))
            bgr = np.ascontiguousarray(rgb[:, :, ::-1])
            box = engine.detect(rgb, "hog", 1)[0]
            cells = []
            for sigma in SIGMAS:
                piece, dy, dx = head(bgr, box, face_px)
                if sigma:
                    piece = cv2.GaussianBlur(piece, (0, 0), sigma)
                frame = background(1920, 1080)
                paste(frame, piece, 500 - dy, 900 - dx)
                found = engine.detect_regions(frame, [(0, 1920, 1080, 0)], 0.25, "blazeface", 1)
                if not found:
                    cells.append("-")
                    continue
                frame_rgb = engine.to_rgb(frame)
                distance = float(np.min(np.linalg.norm(gallery - engine.encode(frame_rgb, found[:1])[0], axis=1)))
                cells.append(f"{distance:.2f}/{face_sharpness(frame_rgb, found[0], LIVE_SHARPNESS_SIDE):.0f}")
            print(f"{face_px:<4}{photo.name[:18]:18}" + "".join(f"{c:>12}" for c in cells))


if __name__ == "__main__":
    main()
