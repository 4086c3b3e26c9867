"""POST /api/identify: name every face in an uploaded photo against the live gallery.

The photo comes as a multipart field named `image` or as the raw request body (any image content type), at most
the enrolment's 20 MiB (web/app.py), and is checked and decoded as an enrolment upload is (gallery/images.py).
The faces are named by the recognition child over runtime_dir/identify.sock (runtime/identify.py says why
there): this gevent worker only relays bytes and waits cooperatively, so viewers' streams on it never stall.
It is the one POST a `read` token may make (web/auth.py), and limited per client across all workers
(http.identify_per_minute, web/limiter.py RequestLimiter).
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, abort, current_app, jsonify, request

from facedaemon.runtime import identify as contract
from facedaemon.web.context import get_context
from facedaemon.web.limiter import RequestLimiter

blueprint = Blueprint("identify", __name__)

PATH = "/api/identify"
WINDOW = 60.0  # http.identify_per_minute photos per client in this many seconds
LIMITS_FILE = "identify-limits.json"


@blueprint.post(PATH)
def identify() -> tuple[Response, int]:
    context = get_context(current_app)
    limit = context.identify_per_minute
    wait = RequestLimiter(context.runtime_dir / LIMITS_FILE, limit, WINDOW).take(_client(), time.time())
    if wait > 0:
        return _refused(429, f"more than {limit} photos in {WINDOW:.0f} s from this client; try again later", wait)
    answer = contract.ask(context.runtime_dir, _photo())
    if answer.status == 200:
        return jsonify(answer.body), 200
    if answer.status >= 500:
        return _refused(answer.status, answer.body["detail"], answer.retry_after)
    abort(answer.status, description=answer.body["detail"])


def _photo() -> bytes:
    """The uploaded photo's bytes: the multipart field `image`, else the whole body."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("image")
        if upload is None:
            abort(400, description="send the photo as a multipart/form-data field named 'image' (or as the body)")
        data = upload.read()
    else:
        data = request.get_data(cache=False)
    if not data:
        abort(400, description="no photo sent: an empty body")
    return data


def _client() -> str:
    authenticator = current_app.extensions.get("facedaemon.auth")
    return authenticator.client() if authenticator is not None else request.remote_addr or "?"


def _refused(status: int, detail: str, retry_after: float | None) -> tuple[Response, int]:
    response = jsonify({"error": "Too Many Requests" if status == 429 else "Service Unavailable", "status": status,
                        "detail": detail})
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
    return response, status
