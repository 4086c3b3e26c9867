"""The identify socket in runtime_dir: how a web worker asks the recognition process to name the faces in a photo.

Why there: the recognition child already holds the live gallery (its reloads, its negatives) and the loaded models,
and runs apart from the gevent web workers, so a photo costs no second copy of the models (~100 MB on a Pi) and no
web worker stalls on dlib while viewers' streams wait. It runs one photo at a time, between camera frames, so the
recognition process still uses one core at most and the cameras and ffmpeg keep the other.

The child listens on runtime_dir/identify.sock (a unix stream socket in the 0750 runtime folder). A client sends
`identify <n>\\n` and n bytes of image; the answer is one line, then for "ok" a JSON body:
  ok <n>\\n<n bytes of JSON>        the faces (worker/identify_faces.py builds them)
  busy <seconds>\\n                  one photo runs and the queue is full: retry after that many seconds
  error <http status> <text>\\n      the photo is refused (not an image 415, too large 413, corrupt 422)
Paths longer than a socket address can hold are reached through /proc/self/fd (runtime/live.py).
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path

from facedaemon.runtime import live

SOCKET_NAME = "identify.sock"
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # as an enrolment upload (web/app.py UPLOAD_MAX_CONTENT_LENGTH)
MAX_LINE = 512
CONNECT_SECONDS = 2.0
ANSWER_SECONDS = 60.0  # a photo waiting behind the queue on a slow Pi; the web worker only waits (cooperatively)


def socket_path(runtime_dir: Path) -> Path:
    return runtime_dir / SOCKET_NAME


@dataclass(frozen=True)
class Answer:
    status: int  # HTTP status: 200, 4xx for a refused photo, 503 busy or unavailable
    body: dict  # the faces for 200, else {"detail": text}
    retry_after: int | None = None  # seconds, for 503


def request_head(size: int) -> bytes:
    return f"identify {size}\n".encode()


def parse_head(line: bytes) -> int | None:
    """The image size a request line announces; None if it is not a request line within the limit."""
    word, _, size = line.decode(errors="replace").strip().partition(" ")
    if word != "identify" or not size.isdigit() or not 0 < int(size) <= MAX_IMAGE_BYTES:
        return None
    return int(size)


def ok(result: dict) -> bytes:
    body = json.dumps(result, separators=(",", ":")).encode()
    return f"ok {len(body)}\n".encode() + body


def busy(seconds: int) -> bytes:
    return f"busy {max(1, seconds)}\n".encode()


def error(status: int, text: str) -> bytes:
    return f"error {status} {' '.join(text.split())}\n".encode()


def ask(runtime_dir: Path, image: bytes, *, timeout: float = ANSWER_SECONDS) -> Answer:
    """Send one photo and wait for the answer (cooperative under gevent: plain socket calls)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_SECONDS)
        try:
            live.connect(sock, socket_path(runtime_dir))
        except OSError:
            return Answer(503, {"detail": "the recognition worker is not running (starting or restarting)"}, 5)
        sock.settimeout(timeout)
        sock.sendall(request_head(len(image)) + image)
        reader = sock.makefile("rb")
        return _read_answer(reader.readline(MAX_LINE), reader)
    except OSError as exc:
        return Answer(503, {"detail": f"the recognition worker did not answer ({exc or type(exc).__name__})"}, 5)
    finally:
        sock.close()


def _read_answer(line: bytes, reader) -> Answer:
    word, _, rest = line.decode(errors="replace").strip().partition(" ")
    if word == "ok" and rest.isdigit():
        body = reader.read(int(rest))
        if len(body) == int(rest):
            return Answer(200, json.loads(body))
    elif word == "busy" and rest.isdigit():
        return Answer(503, {"detail": "busy naming other photos; try again shortly"}, int(rest))
    elif word == "error":
        status, _, text = rest.partition(" ")
        if status.isdigit():
            return Answer(int(status), {"detail": text})
    return Answer(503, {"detail": "the recognition worker stopped while naming the photo"}, 5)
