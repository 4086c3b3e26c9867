"""/healthz for load balancers and watchdogs; /metrics for Prometheus (the daemon's exposition file)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST

from facedaemon.runtime.status import METRICS_FILE, DaemonStatus, camera_view, is_fresh, read_status, unhealthy_reasons
from facedaemon.web.context import get_context

blueprint = Blueprint("health", __name__)

# Key used for the reason when no camera is enabled, so a dead daemon still reads as unhealthy.
DAEMON_KEY = "daemon"


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    context = get_context(current_app)
    status = read_status(context.runtime_dir)
    now = time.time()
    reasons = unhealthy_reasons(status, context.cameras, now, context.stale_after)
    if not context.cameras and not is_fresh(status, now, context.stale_after):
        view = camera_view(status, DAEMON_KEY, now, context.stale_after)
        reasons[DAEMON_KEY] = view.reason or "not running"
    if reasons:
        # Public even with a login: the state only. The reason can name the camera's RTSP host and path (the
        # details are in /api/cameras and the log).
        return jsonify({"status": "unhealthy", "reasons": {k: _without_source_detail(v, status, k)
                                                           for k, v in reasons.items()}}), 503
    assert status is not None  # fresh, since there were no reasons
    fps = {name: round(status.cameras[name].fps_out, 2) for name in context.cameras}
    age = round(now - status.updated, 3)
    return jsonify({"status": "ok", "age": age, "fps": fps}), 200


def _without_source_detail(text: str, status: DaemonStatus | None, camera: str) -> str:
    """Drop what the camera itself reported (a source error can name its RTSP host and path); keep the rest."""
    entry = status.cameras.get(camera) if status is not None else None
    detail = entry.reason if entry is not None else None
    if detail and detail in text:
        text = text.replace(f": {detail}", "").replace(detail, "").strip()
    return text


@blueprint.get("/metrics")
def metrics() -> Response:
    context = get_context(current_app)
    path = context.runtime_dir / METRICS_FILE
    try:
        body = path.read_bytes()
    except OSError:
        return Response("metrics not available: daemon not running?\n", status=503, mimetype="text/plain")
    response = Response(body, status=200)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response
