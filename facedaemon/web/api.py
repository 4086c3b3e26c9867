"""JSON API the page polls: camera states and the faces on each camera's latest analysed frame."""

from __future__ import annotations

import re
import time
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, url_for

from facedaemon.runtime.recent import read_index
from facedaemon.runtime.snapshots import SNAPSHOT_ID, snapshot_file
from facedaemon.runtime.status import camera_view, is_fresh, read_status
from facedaemon.web.context import get_context
from facedaemon.web.files import image_response

blueprint = Blueprint("api", __name__, url_prefix="/api")
SNAPSHOT_NAME = re.compile(rf"^{SNAPSHOT_ID}\Z")


@blueprint.get("/cameras")
def cameras() -> Response:
    context = get_context(current_app)
    status = read_status(context.runtime_dir)
    now = time.time()
    listing = []
    for name in context.cameras:
        view = camera_view(status, name, now, context.stale_after)
        listing.append(
            {
                "name": name,
                "device": status.device if status is not None else None,  # which daemon of a fleet
                "state": view.state,
                "fps": round(view.fps_out, 2),
                "fps_in": round(view.fps_in, 2),
                "reason": view.reason,
                "width": view.width,
                "height": view.height,
            }
        )
    return jsonify(listing)


@blueprint.get("/cameras/<camera>/faces")
def faces(camera: str) -> Response:
    context = get_context(current_app)
    if camera not in context.cameras:
        abort(404, description=f"unknown camera {camera!r}")
    status = read_status(context.runtime_dir)
    now = time.time()
    if not is_fresh(status, now, context.stale_after):
        # Faces from a dead daemon would be shown as if they were live.
        return jsonify({"camera": camera, "time": None, "faces": []})
    view = camera_view(status, camera, now, context.stale_after)
    crops = _recent_crops(context.runtime_dir, camera) if view.faces else {}
    return jsonify(
        {
            "camera": camera,
            "time": view.faces_time,
            "faces": [
                {"name": face.name, "confidence": round(face.confidence, 4), "box": list(face.box),
                 "track": face.track, "crop": crops.get(face.track), "not_judged": face.not_judged}
                for face in view.faces
            ],
        }
    )


def _recent_crops(runtime_dir: Path, camera: str) -> dict[int, str]:
    """Track id → URL of its recent crop (named faces only), for "not this person" (POST /api/faces/<n>/not)."""

    return {entry.track: url_for("not_person.crop", camera=camera, crop=entry.crop)
            for entry in reversed(read_index(runtime_dir, camera))}


@blueprint.get("/snapshots/<camera>/<snapshot>.jpg")
def snapshot(camera: str, snapshot: str) -> Response:
    """The picture of an arrival (events.snapshots), as linked from its event; 404 once it expired or was erased."""
    context = get_context(current_app)
    known = camera in context.cameras and SNAPSHOT_NAME.match(snapshot)
    path = snapshot_file(context.runtime_dir, camera, snapshot) if known else None
    if path is None:
        abort(404)
    return image_response(path, "image/jpeg")
