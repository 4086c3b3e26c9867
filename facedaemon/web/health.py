"""/healthz for load balancers and watchdogs; /metrics for Prometheus (the daemon's exposition file)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST

from facedaemon.runtime.status import METRICS_FILE, camera_view, is_fresh, read_status, unhealthy_reasons
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
        return jsonify({"status": "unhealthy", "reasons": reasons}), 503
    assert status is not None  # fresh, since there were no reasons
    fps = {name: round(status.cameras[name].fps_out, 2) for name in context.cameras}
    age = round(now - status.updated, 3)
    return jsonify({"status": "ok", "pid": status.pid, "age": age, "fps": fps}), 200


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
