"""Hostile uploads against the real gunicorn: decompression bombs and formats outside JPEG/PNG/WebP/BMP."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from devtools.processes import peak_rss_mb
from devtools.uploads import sixteen_bit_bomb
from devtools.web_server import web_server

pytestmark = pytest.mark.e2e

RSS_LIMIT_MB = 300


def other_formats() -> dict[str, bytes]:
    found = {}
    for name, fmt in (("a.tif", "TIFF"), ("a.gif", "GIF"), ("a.pcx", "PCX"), ("a.tga", "TGA")):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), "white").save(buffer, fmt)
        found[name] = buffer.getvalue()
    found["a.eps"] = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\nshowpage\n%%EOF\n"
    return found


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with web_server(tmp_path_factory.mktemp("uploads")) as running:
        yield running


def test_parallel_bombs_are_refused_from_the_header_and_cost_little(web):
    bomb = sixteen_bit_bomb()
    assert len(bomb) < 200_000

    def send(i: int):
        files = [("images", (f"bomb{i}-{k}.png", bomb, "image/png")) for k in range(4)]
        return web.request("POST", f"/api/faces/Person{i}", files=files)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, range(8)))
    for response in responses:
        assert response.status_code == 413, response.text
        assert "limit" in response.json()["detail"], response.text
    (worker,) = web.worker_pids()
    assert peak_rss_mb(worker) < RSS_LIMIT_MB
    assert not any((web.folder / "faces").iterdir())


def test_other_formats_are_refused_with_415_naming_the_allowed_ones(web):
    for name, data in other_formats().items():
        response = web.request("POST", "/api/faces/Someone", files={"images": (name, data, "image/jpeg")})
        assert response.status_code == 415, (name, response.text)
        assert "JPEG, PNG, WebP or BMP" in response.json()["detail"], name
    assert not (web.folder / "faces" / "Someone").exists()


def test_too_many_photos_in_one_request(web):
    files = [("images", (f"{k}.jpg", b"\xff\xd8\xff", "image/jpeg")) for k in range(21)]
    response = web.request("POST", "/api/faces/Someone", files=files)
    assert response.status_code == 413 and "limit 20" in response.json()["detail"]
