"""Known faces: list, enrol (multipart photo upload) and forget people, plus the /faces screen.

Runs in the gunicorn workers: it only writes into faces_dir (atomically) and prunes the encodings cache; the
daemon's recognition worker notices the change within a few seconds and reloads. Face detection for checking
an upload is imported on first use, so the rest of the web app never loads it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from facedaemon.gallery import edit
from facedaemon.gallery.layout import EnrollError, GalleryError, UnknownPerson, check_name
from facedaemon.gallery.listing import listing
from facedaemon.web.audit import audit
from facedaemon.web.context import WebContext, get_context

log = logging.getLogger(__name__)

blueprint = Blueprint("faces", __name__)
MAX_PHOTOS = 20  # per enrol request: each is decoded and searched for a face in this worker


def faces_context() -> WebContext:
    """The app's context if a faces folder is configured, else 404 (shared with not_person.py)."""
    context = get_context(current_app)
    if context.gallery is None:
        abort(404, description="no faces folder configured")
    return context


@blueprint.get("/faces")
def page() -> str:
    faces_context()
    return render_template("faces.html")


@blueprint.get("/api/faces")
def people() -> Response:
    gallery = faces_context().gallery
    try:
        return jsonify(listing(gallery))
    except GalleryError as exc:
        abort(503, description=str(exc))


@blueprint.post("/api/faces/<name>")
def enroll(name: str) -> tuple[Response, int]:
    gallery = faces_context().gallery
    try:
        check_name(name)
    except EnrollError as exc:
        abort(400, description=str(exc))
    files = request.files.getlist("images")
    if not files:
        abort(400, description="send the photos as multipart/form-data fields named 'images'")
    if len(files) > MAX_PHOTOS:
        abort(413, description=f"{len(files)} photos in one request (limit {MAX_PHOTOS})")
    photos = [(f.filename or f"upload {i + 1}", f.read()) for i, f in enumerate(files)]
    try:
        written, checks = edit.enroll(gallery, name, photos)
    except EnrollError as exc:
        abort(exc.status, description=str(exc))
    audit("enrol", f"{len(written)} photo(s) of a person")  # no name: the journal outlives an erasure
    return jsonify({"name": name, "added": written,
                    "quality": [{"file": c.filename, "face_px": c.quality.face_px if c.quality else None,
                                 "sharpness": round(c.quality.sharpness, 1) if c.quality else None}
                                for c in checks]}), 201


@blueprint.delete("/api/faces/<name>")
def forget(name: str) -> Response:
    gallery = faces_context().gallery
    try:
        report = edit.forget(gallery, name)
    except UnknownPerson as exc:
        abort(404, description=str(exc))
    except EnrollError as exc:
        abort(409 if exc.status == 409 else 400, description=str(exc))
    audit("forget", f"a person ({len(report.files)} file(s))")
    return jsonify({"name": name, "removed_files": report.files, "removed_encodings": report.cache_entries})
