"""`facedaemon identify`: name the faces in still images, one JSON line per image.

Each line is what `POST /api/identify` answers for that photo (worker/identify_faces.py builds both), with the
image's path: {"image": path, "width": w, "height": h, "faces": [{"box": {"x", "y", "w", "h"}, "name", ...}]}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from facedaemon.config.models import RecognitionConfig
from facedaemon.faces.matcher import KnownFaces
from facedaemon.faces.negatives import Negatives
from facedaemon.gallery.images import ImageError, read_image_file
from facedaemon.gallery.layout import GalleryError
from facedaemon.gallery.load import load_gallery_with_negatives
from facedaemon.gallery.settings import GallerySettings
from facedaemon.worker.identify_faces import identify

EXIT_OK, EXIT_IMAGE_ERROR, EXIT_GALLERY_ERROR = 0, 1, 2


def run_identify(gallery: GallerySettings, images: list[Path], *, scale: float, out: TextIO = sys.stdout,
                 recognition: RecognitionConfig | None = None) -> int:
    """0: every image read; 1: some could not be (each gets an "error" line); 2: unusable faces_dir.

    The images are searched with `recognition` (a config's), else the gallery's detector and tolerance at `scale`."""
    rec = recognition or RecognitionConfig(model=gallery.model, tolerance=gallery.tolerance, scale=scale)
    try:
        known, negatives, _ = load_gallery_with_negatives(gallery)
    except GalleryError as exc:
        print(f"identify: {exc}", file=sys.stderr)
        return EXIT_GALLERY_ERROR
    status = EXIT_OK
    for image in images:
        line = identify_one(image, known, rec, negatives)
        if "error" in line:
            status = EXIT_IMAGE_ERROR
        out.write(json.dumps(line) + "\n")
        out.flush()
    return status


def identify_one(image: Path, known: KnownFaces, rec: RecognitionConfig, negatives: Negatives | None = None) -> dict:
    try:
        answer = identify(read_image_file(image), known, negatives or Negatives(), rec)
    except ImageError as exc:
        return {"image": str(image), "error": str(exc)}
    return {"image": str(image), **answer}
