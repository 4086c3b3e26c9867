"""/hls/<camera>/<file>: the HLS playlist, init segment and media segments ffmpeg writes for a camera.

Only names ffmpeg produces are served (HLS_FILE), only for configured cameras, and only regular files that
really live in runtime_dir/<camera>: a symlink there (or a symlinked camera folder) is refused, not followed.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_from_directory

from facedaemon.runtime.hls import HLS_FILE, INIT, PLAYLIST
from facedaemon.safe_path import regular_file_inside
from facedaemon.web.context import get_context

blueprint = Blueprint("hls", __name__)

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
MEDIA_TYPE = "video/mp4"


def _media_type(filename: str) -> str:
    return PLAYLIST_TYPE if filename == PLAYLIST else MEDIA_TYPE


def contained_file(runtime_dir: Path, camera: str, filename: str) -> Path | None:
    """The camera folder if runtime_dir/camera/filename is a regular file inside it, following no symlink."""
    found = regular_file_inside(runtime_dir, camera, filename)
    return found.parent if found is not None else None


@blueprint.get("/hls/<camera>/<path:filename>")
def file(camera: str, filename: str) -> Response:
    context = get_context(current_app)
    if camera not in context.cameras or not HLS_FILE.fullmatch(filename):
        abort(404)
    folder = contained_file(context.runtime_dir, camera, filename)
    if folder is None:
        abort(404)
    # The playlist changes every segment and init.mp4 with each ffmpeg run: let clients revalidate, not cache.
    response = send_from_directory(folder, filename, mimetype=_media_type(filename), max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    if filename in (PLAYLIST, INIT):  # segments are named once and never change: a front keeps them longer
        # For a caching front (etc/nginx/facedaemon.conf): keep these until the end of the current second, the
        # shortest time nginx can cache for (its validity is in whole seconds; "1" would mean 1-2 s).
        response.headers["X-Accel-Expires"] = f"@{int(time.time())}"
    return response
