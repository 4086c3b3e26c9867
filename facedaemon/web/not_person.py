"""Wrong matches: recent recognitions with a crop of the face, "not this person", and each person's negatives.

The recognition worker keeps a crop of each recently named face in runtime_dir/recent/<camera>/ (recent.py);
`POST /api/faces/<name>/not` copies one of them (or an uploaded image) into faces_dir/.negatives/<name>/, and
the daemon stops making that match within a few seconds (negatives.py). Like the rest of the web app this only
reads and writes files; checking that the image shows a face loads the face models on first use.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from facedaemon.gallery import edit
from facedaemon.gallery.layout import (
    NEGATIVE_FILE,
    NEGATIVES_DIR,
    PERSON_NAME_RE,
    EnrollError,
    UnknownPerson,
    check_name,
)
from facedaemon.runtime.recent import RECENT_SECONDS, crop_file, find_track, read_index
from facedaemon.safe_path import regular_file_inside
from facedaemon.web.audit import audit
from facedaemon.web.context import WebContext, get_context
from facedaemon.web.faces import faces_context
from facedaemon.web.files import image_response

log = logging.getLogger(__name__)

blueprint = Blueprint("not_person", __name__)

IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
               ".bmp": "image/bmp"}


@blueprint.get("/api/recent")
def recent() -> Response:
    context = get_context(current_app)
    now = time.time()
    faces = [
        {"camera": camera, "track": entry.track, "name": entry.name, "confidence": entry.confidence,
         "time": entry.time, "crop": url_for("not_person.crop", camera=camera, crop=entry.crop)}
        for camera in context.cameras
        for entry in read_index(context.runtime_dir, camera)
        if now - entry.time <= RECENT_SECONDS
    ]
    return jsonify({"faces": sorted(faces, key=lambda face: face["time"], reverse=True)})


@blueprint.get("/api/recent/<camera>/<crop>.jpg")
def crop(camera: str, crop: str) -> Response:
    context = get_context(current_app)
    path = crop_file(context.runtime_dir, camera, crop) if camera in context.cameras else None
    if path is None:
        abort(404)
    return image_response(path, "image/jpeg")


@blueprint.post("/api/faces/<name>/not")
def mark_not(name: str) -> tuple[Response, int]:
    context = faces_context()
    try:
        check_name(name)
    except EnrollError as exc:
        abort(400, description=str(exc))
    filename, data, where = _marked_face(context)
    try:
        written = edit.mark_not(context.gallery, name, filename, data)
    except UnknownPerson as exc:
        abort(404, description=str(exc))
    except EnrollError as exc:
        abort(exc.status, description=str(exc))
    # No name in the log (it outlives a later erasure); the camera and track say which face.
    audit("not-this-person", f"a face ({where}) marked as not a known person")
    file = Path(written).name
    return jsonify({"name": name, "negative": written, "file": file,
                    "url": url_for("not_person.negative", name=name, filename=file)}), 201


def _marked_face(context: WebContext) -> tuple[str, bytes, str]:
    """(filename, image bytes, description) from a multipart 'image' or JSON {"camera", "track"}."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("image")
        if upload is None:
            abort(400, description="send the face as a multipart/form-data field named 'image'")
        return upload.filename or "upload", upload.read(), "uploaded image"
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description='send JSON {"camera": "<camera>", "track": <track id>} or a multipart image')
    camera, track = body.get("camera"), body.get("track")
    if not isinstance(camera, str) or camera not in context.cameras:
        abort(400, description=f"unknown camera {camera!r}: use one of {', '.join(context.cameras)}")
    if type(track) is not int:
        abort(400, description=f"'track' must be the face's track id, a whole number (got {track!r})")
    return _recent_crop(context, camera, track)


def _recent_crop(context: WebContext, camera: str, track: int) -> tuple[str, bytes, str]:
    entry = find_track(context.runtime_dir, camera, track)
    path = crop_file(context.runtime_dir, camera, entry.crop) if entry is not None else None
    if entry is None or path is None:
        abort(404, description=f"no recent crop of track {track} on camera {camera}: it expired (after 10 "
                               "minutes) or was never named; send the face as an image instead")
    try:
        data = path.read_bytes()
    except OSError:
        abort(404, description=f"the crop of track {track} on camera {camera} just expired")
    return f"{camera}-track-{track}.jpg", data, f"camera {camera}, track {track}"


def _negative_path(context: WebContext, name: str, filename: str) -> Path:
    """faces_dir/.negatives/<name>/<filename> if every part is valid and it is a regular file; else 404."""

    if not PERSON_NAME_RE.match(name) or not NEGATIVE_FILE.match(filename):
        abort(404)
    found = regular_file_inside(context.gallery.faces_dir, NEGATIVES_DIR, name, filename)
    if found is None:
        abort(404)
    return found


@blueprint.get("/api/faces/<name>/negatives/<filename>")
def negative(name: str, filename: str) -> Response:
    path = _negative_path(faces_context(), name, filename)
    return image_response(path, IMAGE_TYPES.get(path.suffix.lower(), "application/octet-stream"))


@blueprint.delete("/api/faces/<name>/negatives/<filename>")
def delete_negative(name: str, filename: str) -> Response:
    context = faces_context()
    _negative_path(context, name, filename)
    try:
        edit.delete_negative(context.gallery, name, filename)
    except EnrollError as exc:
        abort(404, description=str(exc))
    audit("delete-negative", "a negative example")
    return jsonify({"name": name, "removed": filename})
