"""POST /api/identify against the real daemon (gunicorn web, recognition child), gallery: Obama (obama2.jpg and
obama3.jpg). Obama's and Biden's photos are named with their boxes; a read token may ask, an anonymous or wrong
one may not; a non-image is refused with 415; the API's faces equal `facedaemon identify`'s on the same photo."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys

import pytest
import requests
from werkzeug.security import generate_password_hash

from devtools import REPO
from facedaemon.web.auth import hash_token
from tests.e2e.media import obama_gallery

pytestmark = pytest.mark.e2e

PASSWORD = "s3cret-for-e2e-only"
READ_TOKEN = "e2e-read-token-456"
METRICS_TOKEN = "e2e-metrics-token-789"
READ = {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, shared_data, run_module_daemon):
    tmp = tmp_path_factory.mktemp("identify")
    faces = obama_gallery(shared_data, tmp / "faces")
    auth = {"enabled": True, "users": {"alice": generate_password_hash(PASSWORD)},
            "tokens": [f"read:{hash_token(READ_TOKEN)}", f"metrics:{hash_token(METRICS_TOKEN)}"]}
    cameras = {"cam": {"source": "pattern", "width": 320, "height": 240, "fps": 5}}
    daemon = run_module_daemon(tmp, cameras, faces, auth=auth, timeout=90)
    daemon.wait_for(lambda: "recognition: identify socket ready" in daemon.log(), 60, "the identify socket")
    return daemon


def post(daemon, photo: bytes, **kwargs) -> requests.Response:
    return requests.post(f"{daemon.base_url}/api/identify", timeout=60, **kwargs)


def test_names_obama_and_biden_with_their_boxes(daemon, shared_data) -> None:
    images = shared_data / "images"
    obama = post(daemon, b"", files={"image": ("o.jpg", (images / "obama2.jpg").read_bytes(), "image/jpeg")},
                 headers=READ)
    assert obama.status_code == 200, obama.text
    (face,) = obama.json()["faces"]
    assert face["name"] == "Obama" and face["distance"] < 0.1 and face["quality"]["judgeable"], face
    width, height = obama.json()["width"], obama.json()["height"]
    box = face["box"]
    assert 0 <= box["x"] < box["x"] + box["w"] <= width and 0 <= box["y"] < box["y"] + box["h"] <= height
    assert box["h"] > 100  # a portrait: the face is a good part of the photo

    biden = requests.post(f"{daemon.base_url}/api/identify", data=(images / "biden.jpg").read_bytes(), timeout=60,
                          headers={**READ, "Content-Type": "image/jpeg"})  # a raw body works too
    assert biden.status_code == 200, biden.text
    (face,) = biden.json()["faces"]
    assert face["name"] == "Unknown" and face["distance"] > 0.6 and face["nearest"] is None, face


def test_who_may_ask(daemon, shared_data) -> None:
    photo = {"image": ("o.jpg", (shared_data / "images" / "obama2.jpg").read_bytes(), "image/jpeg")}
    assert post(daemon, b"", files=photo).status_code == 401
    assert post(daemon, b"", files=photo, headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert post(daemon, b"", files=photo, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 403
    assert post(daemon, b"", files=photo, auth=("alice", PASSWORD)).status_code == 200
    # the read token's one POST: enrolling stays refused
    enrol = requests.post(f"{daemon.base_url}/api/faces/Someone", files={"images": photo["image"]}, headers=READ,
                          timeout=30)
    assert enrol.status_code == 403


def test_refuses_what_is_not_a_photo(daemon) -> None:
    text = post(daemon, b"", files={"image": ("x.jpg", b"this is not an image", "image/jpeg")}, headers=READ)
    assert text.status_code == 415 and "not an allowed image format" in text.json()["detail"], text.text
    empty = requests.post(f"{daemon.base_url}/api/identify", data=b"", headers=READ, timeout=30)
    assert empty.status_code == 400 and "no photo" in empty.json()["detail"]
    field = post(daemon, b"", files={"photo": ("o.jpg", b"\xff\xd8\xff", "image/jpeg")}, headers=READ)
    assert field.status_code == 400 and "'image'" in field.json()["detail"]
    # Only the headers of a 21 MiB upload: the answer comes from them (sending the body to a server that already
    # refused it could end in a reset instead of the answer).
    connection = http.client.HTTPConnection("127.0.0.1", int(daemon.base_url.rsplit(":", 1)[1]), timeout=30)
    connection.putrequest("POST", "/api/identify")
    for name, value in {**READ, "Content-Type": "image/jpeg", "Content-Length": str(21 * 2**20)}.items():
        connection.putheader(name, value)
    connection.endheaders()
    big = connection.getresponse()
    assert big.status == 413 and "20 MiB" in json.loads(big.read())["detail"]
    connection.close()


def test_a_photo_without_faces_is_an_empty_list(daemon, tmp_path) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (640, 480), (90, 120, 150)).save(blank)
    answer = post(daemon, b"", files={"image": ("b.png", blank.read_bytes(), "image/png")}, headers=READ)
    assert answer.status_code == 200 and answer.json() == {"width": 640, "height": 480, "faces": []}


def test_the_api_and_the_cli_give_the_same_faces(daemon, shared_data) -> None:
    photos = [shared_data / "images" / name for name in ("obama.jpg", "biden.jpg", "32bit.png")]
    cli = subprocess.run([sys.executable, "-m", "facedaemon", "identify", "--config", str(daemon.config_path),
                          *map(str, photos)], capture_output=True, text=True, timeout=300, cwd=REPO, check=False)
    assert cli.returncode == 0, cli.stderr
    lines = [json.loads(line) for line in cli.stdout.splitlines()]
    for photo, line in zip(photos, lines, strict=True):
        api = post(daemon, b"", files={"image": (photo.name, photo.read_bytes(), "image/jpeg")}, headers=READ)
        assert api.status_code == 200, api.text
        assert {key: line[key] for key in ("width", "height", "faces")} == api.json(), photo.name
        assert line["faces"], photo.name
