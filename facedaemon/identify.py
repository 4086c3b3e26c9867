"""`facedaemon identify`: name the faces in still images, one JSON line per image."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from facedaemon.config.models import RecognitionConfig
from facedaemon.faces import engine
from facedaemon.faces.matcher import KnownFaces
from facedaemon.faces.negatives import Negatives
from facedaemon.gallery.images import ImageError, load_rgb
from facedaemon.gallery.layout import GalleryError
from facedaemon.gallery.load import load_gallery_with_negatives
from facedaemon.gallery.settings import GallerySettings

EXIT_OK, EXIT_IMAGE_ERROR, EXIT_GALLERY_ERROR = 0, 1, 2


def run_identify(gallery: GallerySettings, images: list[Path], *, scale: float, out: TextIO = sys.stdout) -> int:
    """0: every image read; 1: some could not be (each gets an "error" line); 2: unusable faces_dir.

    The images are searched with the gallery's detector and tolerance, at `scale`."""
    rec = RecognitionConfig(model=gallery.model, tolerance=gallery.tolerance, scale=scale)
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
        rgb = load_rgb(image)
    except ImageError as exc:
        return {"image": str(image), "error": str(exc)}
    faces = engine.identify_image(rgb, known, rec, negatives)
    return {"image": str(image), "faces": [_face_json(face) for face in faces]}


def _face_json(face) -> dict:
    data = face.to_json()
    data.pop("track")  # no tracker for still images
    return data
