"""Sending stored face images (recent crops, unknown crops) to the browser."""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_file


def image_response(path: Path, mimetype: str) -> Response:
    response = send_file(path, mimetype=mimetype, max_age=0)
    # Faces: never kept by a browser or proxy cache after they are deleted here.
    response.headers["Cache-Control"] = "no-store"
    return response
