"""POST /api/identify through the Flask app and a real identify socket (a fake answer instead of the models):
the photo as a multipart field or a raw body, errors as JSON naming the problem, the per-client limit."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from facedaemon.web.app import create_app
from facedaemon.web.context import WebContext
from facedaemon.worker.identify_server import IdentifyServer

JPEG = b"\xff\xd8\xff" + bytes(64)


@pytest.fixture
def served(tmp_path: Path):
    seen: list[bytes] = []

    def answer(data: bytes) -> dict:
        seen.append(data)
        return {"width": 4, "height": 3, "faces": []}

    server = IdentifyServer(tmp_path / "identify.sock", answer)
    server.start()
    try:
        yield seen
    finally:
        server.stop()


def client(tmp_path: Path, per_minute: int = 60):
    return create_app(WebContext(runtime_dir=tmp_path, cameras=("cam",), identify_per_minute=per_minute)).test_client()


def test_multipart_and_raw_bodies_reach_the_worker(tmp_path: Path, served: list[bytes]) -> None:
    web = client(tmp_path)
    multipart = web.post("/api/identify", data={"image": (io.BytesIO(JPEG), "a.jpg")})
    raw = web.post("/api/identify", data=JPEG, content_type="image/jpeg")
    curl = web.post("/api/identify", data=JPEG, content_type="application/x-www-form-urlencoded")  # --data-binary
    assert (multipart.status_code, raw.status_code, curl.status_code) == (200, 200, 200)
    assert multipart.get_json() == {"width": 4, "height": 3, "faces": []}
    assert served == [JPEG, JPEG, JPEG]


def test_errors_name_the_problem(tmp_path: Path, served: list[bytes]) -> None:
    web = client(tmp_path)
    gif = web.post("/api/identify", data=b"GIF89a" + bytes(20), content_type="image/gif")
    assert gif.status_code == 415 and "JPEG, PNG, WebP or BMP" in gif.get_json()["detail"]
    assert web.post("/api/identify", data=b"").status_code == 400
    assert web.get("/api/identify").status_code == 405
    assert served == []


def test_no_worker_is_503_with_retry_after(tmp_path: Path) -> None:
    answer = client(tmp_path).post("/api/identify", data=JPEG, content_type="image/jpeg")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert "not running" in answer.get_json()["detail"]


def test_each_client_is_limited_per_minute(tmp_path: Path, served: list[bytes]) -> None:
    web = client(tmp_path, per_minute=2)
    codes = [web.post("/api/identify", data=JPEG, content_type="image/jpeg").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    refused = web.post("/api/identify", data=JPEG, content_type="image/jpeg")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 and "more than 2 photos" in refused.get_json()["detail"]
    other = web.post("/api/identify", data=JPEG, content_type="image/jpeg", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200
