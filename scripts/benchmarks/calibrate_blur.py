"""Print face size and sharpness of the shared photos and of blurred copies (to calibrate quality.MIN_SHARPNESS).

Usage: .venv/bin/python scripts/benchmarks/calibrate_blur.py [PHOTOS_DIR]  (default: devtools.shared_data())
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image, ImageFilter

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # devtools: importable from the checkout, not installed

from devtools import shared_data  # noqa: E402
from facedaemon.faces.quality import FaceQuality  # noqa: E402
from facedaemon.gallery.load import analyse_image  # noqa: E402


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else shared_data()
    photos = sorted((shared / "images").glob("*.jpg")) + sorted((shared / "known_faces").glob("*.jpg"))
    print(f"{'photo':40} {'blur':>5} {'face_px':>7} {'sharpness':>9}")
    for photo in photos:
        original = Image.open(photo).convert("RGB")
        for radius in (0, 1, 2, 3, 5):
            image = original.filter(ImageFilter.GaussianBlur(radius)) if radius else original
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=92)
            status, _, detail = analyse_image(buffer.getvalue(), model="hog", upsample=1)
            quality = FaceQuality.from_detail(detail) if status == "ok" else None
            shown = f"{quality.face_px:7d} {quality.sharpness:9.1f}" if quality else f"{status:>17}"
            print(f"{photo.name:40} {radius:5d} {shown}")


if __name__ == "__main__":
    main()
