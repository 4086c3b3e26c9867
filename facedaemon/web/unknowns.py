"""Unknown faces the daemon kept (`unknowns.save`): list, view, assign to a person (enrol), delete.

The crops are files the recognition worker writes (worker/unknowns.py; the file rules are in gallery/unknowns.py);
ids are checked against one strict pattern and files are opened only as regular files right inside the folder, so
no id reaches another file.
Crops past retention are neither listed nor served, even before the daemon's next sweep deletes them.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from facedaemon.config.durations import format_duration
from facedaemon.gallery import edit, unknowns
from facedaemon.gallery.layout import EnrollError, check_name
from facedaemon.web.audit import audit
from facedaemon.web.context import WebContext, get_context
from facedaemon.web.files import image_response

log = logging.getLogger(__name__)

blueprint = Blueprint("unknowns", __name__, url_prefix="/api/unknowns")


def _context() -> WebContext:
    context = get_context(current_app)
    if context.unknowns_dir is None:
        abort(404, description="no unknown faces folder configured")
    return context


def _crop(context: WebContext, uid: str) -> Path:
    """The crop's file, if the id is valid, the file is there and still within retention; else 404."""
    path = unknowns.unknown_file(context.unknowns_dir, uid)
    try:
        fresh = path is not None and time.time() - path.stat().st_mtime <= context.unknowns_retention
    except OSError:
        fresh = False
    if path is None or not fresh:
        abort(404, description=f"no unknown face {uid!r} (deleted, assigned, or older than the retention)")
    return path


@blueprint.get("")
def listing() -> Response:
    context = _context()
    found = unknowns.listing(context.unknowns_dir, time.time(), context.unknowns_retention)
    for entry in found:
        entry["url"] = url_for("unknowns.image", uid=entry["id"])
    return jsonify({"save": context.unknowns_save, "retention": context.unknowns_retention,
                    "retention_text": format_duration(context.unknowns_retention), "unknowns": found})


@blueprint.get("/<uid>.jpg")
def image(uid: str) -> Response:
    return image_response(_crop(_context(), uid), "image/jpeg")


@blueprint.post("/<uid>/assign")
def assign(uid: str) -> tuple[Response, int]:
    context = _context()
    if context.gallery is None:
        abort(404, description="no faces folder configured")
    body = request.get_json(silent=True)
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str):
        abort(400, description='send JSON {"name": "<person>"}: who this face is')
    try:
        check_name(name)
    except EnrollError as exc:
        abort(400, description=str(exc))
    path = _crop(context, uid)
    try:
        written, _ = edit.enroll(context.gallery, name, [(f"{uid}.jpg", path.read_bytes())])
    except EnrollError as exc:
        abort(exc.status, description=str(exc))
    except OSError:
        abort(404, description=f"no unknown face {uid!r} (it was just deleted)")
    unknowns.remove(context.unknowns_dir, uid)
    audit("assign", f"an unknown face to a person ({len(written)} photo)")
    return jsonify({"id": uid, "name": name, "added": written}), 201


@blueprint.delete("/<uid>")
def delete(uid: str) -> Response:
    context = _context()
    if unknowns.unknown_file(context.unknowns_dir, uid) is None or not unknowns.remove(context.unknowns_dir, uid):
        abort(404, description=f"no unknown face {uid!r}")
    audit("delete-unknown", "an unknown face crop")
    return jsonify({"id": uid, "removed": True})
