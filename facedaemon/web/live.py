"""/live/<camera>: the low-latency stream, relayed from the daemon's live socket as one long HTTP response.

The body is fragmented MP4 (the init segment, then one fragment per frame) that the page appends to Media
Source Extensions as it arrives. The worker only copies bytes: the daemon cut the frames and keeps each viewer's
queue (a slow viewer loses its own frames there). The login and Host rules apply as to every route; the worker's
send deadline (web/gevent_worker.py) cuts a client that stops reading, while one that reads never meets it, however long
it watches. Under gunicorn's gevent worker the socket calls below are cooperative.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, request

from facedaemon.runtime import live as contract
from facedaemon.web.context import get_context

log = logging.getLogger(__name__)

blueprint = Blueprint("live", __name__)

MEDIA_TYPE = "video/mp4"
CONNECT_SECONDS = 2.0
IDLE_SECONDS = 5.0  # no frame for this long (camera or ffmpeg down): end the response; the page reconnects
READ_SIZE = 1 << 16
# Bytes the kernel may hold for a viewer on its TCP connection. Loopback autotuning grows this to megabytes,
# which would let a slow viewer's delay grow there unseen; capped, the daemon's queue decides instead.
CLIENT_SEND_BUFFER = 64 * 1024


@blueprint.get("/live/<camera>")
def stream(camera: str) -> Response:
    context = get_context(current_app)
    if camera not in context.cameras:
        abort(404)
    sock, first = _open(context.runtime_dir, camera)
    _cap_client_buffer()
    response = Response(_relay(sock, first), mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a reverse proxy must pass each frame on at once
    return response


def _open(runtime_dir, camera: str) -> tuple[socket.socket, bytes]:
    """A connection to the daemon that said yes for camera, and any stream bytes that came with its answer."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_SECONDS)
        contract.connect(sock, contract.socket_path(runtime_dir))
        sock.sendall(contract.request(camera))
        answer = b""
        while b"\n" not in answer and len(answer) < contract.MAX_REQUEST:
            data = sock.recv(READ_SIZE)
            if not data:
                break
            answer += data
    except OSError as exc:
        sock.close()
        log.warning("live: camera %s: the daemon's live socket does not answer (%s)", camera, exc)
        abort(503, description="the live stream is not available; the page plays HLS instead")
    line, _, rest = answer.partition(b"\n")
    if line + b"\n" != contract.OK:
        sock.close()
        abort(503, description=f"the live stream is not available: {line.decode(errors='replace')}")
    sock.settimeout(IDLE_SECONDS)
    return sock, rest


def _relay(sock: socket.socket, first: bytes) -> Iterator[bytes]:
    try:
        if first:
            yield first
        while True:
            try:
                data = sock.recv(READ_SIZE)
            except OSError:  # idle too long, or the daemon went away
                return
            if not data:
                return
            yield data
    finally:
        sock.close()  # the daemon sees the viewer leave


def _cap_client_buffer() -> None:
    client = request.environ.get("gunicorn.socket")
    if client is not None:
        with contextlib.suppress(OSError):
            client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CLIENT_SEND_BUFFER)
