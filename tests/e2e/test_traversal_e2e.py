"""Path traversal against every file-serving route of the real gunicorn, sent as raw request lines."""

from __future__ import annotations

import contextlib
import http.client
import itertools

import pytest

from devtools.daemon import write_config

pytestmark = pytest.mark.e2e

SECRET = b"OUTSIDE-SECRET-7d1c"
UPS = ["..", "%2e%2e", "%2E%2e", ".%2e", "%252e%252e", "%c0%ae%c0%ae", "....", "..;"]
SEPS = ["/", "%2f", "%5c", "\\", "%252f", "//"]
TARGETS = ["secret.txt", "run/status.json", "etc/passwd", "facedaemon.yaml"]
ROUTES = ["/hls/cam/", "/static/", "/hls/", "/", "/api/unknowns/", "/api/recent/cam/", "/api/faces/Ann/negatives/"]
# Planted symlinks to the secret, each under a name the route's own pattern accepts.
PLANTED = ["/api/unknowns/planted.jpg", "/api/recent/cam/0a1b2c3d-1.jpg", "/api/faces/Ann/negatives/planted.jpg"]


def payloads() -> list[str]:
    found = []
    for route, up, sep in itertools.product(ROUTES, UPS, SEPS):
        for depth in (1, 4):
            found.append(route + sep.join([up] * depth) + sep + TARGETS[(depth + len(up)) % len(TARGETS)])
    found += [f"{route}{tail}" for route in ROUTES[:2] for tail in (
        "%00../../secret.txt", "index.m3u8%00", "..%00/secret.txt", "%2fetc%2fpasswd", "/etc/passwd",
        "planted.m4s", "seg_99999.m4s", "C:%5cwindows%5cwin.ini", "%u002e%u002e/secret.txt")]
    return found + PLANTED


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, run_module_daemon):
    tmp = tmp_path_factory.mktemp("traversal")
    (tmp / "faces").mkdir()
    (tmp / "secret.txt").write_bytes(SECRET)
    cameras = {"cam": {"source": "pattern", "width": 320, "height": 240, "fps": 10, "recognize": False}}
    config_path, port = write_config(tmp, cameras, tmp / "faces")
    running = run_module_daemon.start(tmp, config_path, port, timeout=60,
                                      ready=lambda d: d.get("/hls/cam/index.m3u8").status_code == 200)
    # A planted symlink inside the camera's folder, pointing outside it.
    (running.runtime_dir / "cam" / "seg_99999.m4s").symlink_to(tmp / "secret.txt")
    for folder, name in ((tmp / "faces" / ".unknowns", "planted.jpg"), (running.runtime_dir / "recent" / "cam",
                         "0a1b2c3d-1.jpg"), (tmp / "faces" / ".negatives" / "Ann", "planted.jpg")):
        folder.mkdir(parents=True)
        (folder / name).symlink_to(tmp / "secret.txt")
    return running, port


def test_no_byte_from_outside_a_camera_folder(daemon):
    running, port = daemon
    cases = payloads()
    assert len(cases) >= 200
    statuses = {}
    for path in cases:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.putrequest("GET", path, skip_accept_encoding=True)  # sent exactly as written
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        connection.close()
        statuses[path] = response.status
        assert SECRET not in body and b"root:x:0:0" not in body and b"runtime_dir" not in body, path
        assert response.status < 500, (path, response.status)
    served = [path for path, status in statuses.items() if status == 200]
    assert served == [], f"these paths returned 200: {served[:10]}"
    assert running.get("/healthz").status_code == 200, "the workers survived the whole suite"


def raw_exchange(port: int, data: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        # The server may have answered and closed already (a too-long request line is refused at once).
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass  # refused before reading it all: closing with unread bytes is a reset (gevent worker)
    return b"".join(chunks)


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 20_000 + b"\r\n\r\n",
    b"POST /api/cameras HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n" + b"x" * 1000,
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS hello on the plain port
])
def test_malformed_requests_get_4xx_and_the_server_lives(daemon, request_bytes):
    running, port = daemon
    answer = raw_exchange(port, request_bytes)
    if answer:  # gunicorn may also just close the connection on binary junk
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, answer[:200]
    assert running.get("/healthz").status_code == 200
