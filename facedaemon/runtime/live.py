"""The live socket in runtime_dir: how a web worker asks the daemon for one camera's low-latency stream.

The daemon listens on runtime_dir/live.sock (a unix stream socket, 0750 folder, so only the daemon's user and
group reach it). A client sends the camera's name and a newline; the daemon answers "ok\\n" followed by the
stream (an fMP4 init segment, then one moof+mdat fragment per frame, until that ffmpeg run ends), or
"no <reason>\\n" and closes. Paths longer than a socket address can hold are reached through /proc/self/fd.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

SOCKET_NAME = "live.sock"
OK = b"ok\n"
REFUSED = b"no "
MAX_REQUEST = 256  # a camera name and a newline
_SUN_PATH_MAX = 100  # sockaddr_un holds 108 bytes; leave room


def socket_path(runtime_dir: Path) -> Path:
    return runtime_dir / SOCKET_NAME


@contextlib.contextmanager
def _address(path: Path) -> Iterator[str]:
    """An address for path that fits sockaddr_un: the path itself, or its folder's descriptor under /proc."""
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def bind(sock: socket.socket, path: Path) -> None:
    with _address(path) as address:
        sock.bind(address)


def connect(sock: socket.socket, path: Path) -> None:
    with _address(path) as address:
        sock.connect(address)


def request(camera: str) -> bytes:
    return camera.encode() + b"\n"


def parse_request(data: bytes) -> str | None:
    """The camera named by a complete request line; None if data is not one yet (or not valid)."""
    line, newline, _rest = data.partition(b"\n")
    if not newline:
        return None
    try:
        return line.decode()
    except UnicodeDecodeError:
        return None
