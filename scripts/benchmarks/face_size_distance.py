"""Distance of a face to the gallery by face height: where the neutral "face" label starts (worker/child.py
ENCODE_MIN_PX and UNKNOWN_MIN_PX).

Each shared photo's face is shrunk to 12-100 px tall and pasted into a 1080p frame; BlazeFace finds it (or not)
and dlib encodes it at full resolution. The distance is to the nearest of Obama's other photos (obama2, obama3):
for obama.jpg it is how far the right person drifts as the face shrinks, for the others how close a stranger comes.

Usage: .venv/bin/python scripts/benchmarks/face_size_distance.py [../shared/data]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from facedaemon.bench.range_clip import background, head, paste
from facedaemon.faces import engine

HEIGHTS = (12, 16, 20, 24, 28, 32, 40, 48, 64, 100)


def main() -> None:
    shared = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
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


if __name__ == "__main__":
    main()
