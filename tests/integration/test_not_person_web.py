"""'Not this person' through the web app with the real face models: mark from a recent crop or an upload, list,
view and delete negative examples, the reload that applies them, and forget removing them without a trace."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from werkzeug.security import generate_password_hash

from facedaemon.config.auth import AuthConfig
from facedaemon.config.models import RecognitionConfig
from facedaemon.faces.matcher import match
from facedaemon.faces.negatives import refine
from facedaemon.faces.tracker import Track
from facedaemon.gallery.edit import forget
from facedaemon.gallery.listing import listing
from facedaemon.gallery.load import load_gallery_with_negatives
from facedaemon.gallery.settings import GallerySettings
from facedaemon.gallery.watch import snapshot
from facedaemon.runtime.recent import RecentFaces
from tests.realparts import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]
KNOWN = SHARED_DATA / "known_faces"
IMAGES = KNOWN.parent / "images"

pytestmark = pytest.mark.needs_photos


def frame_of(photo: Path) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The photo as a camera frame (BGR, 720 px) and its face box, as the worker would have them."""
    from facedaemon.faces import engine
    from facedaemon.gallery.images import load_rgb

    rgb = load_rgb(photo, max_side=720)
    (box,) = engine.detect_full(rgb, 0.5, "hog", 1)
    return np.ascontiguousarray(rgb[:, :, ::-1]), box


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    faces, runtime = tmp_path / "faces", tmp_path / "run"
    faces.mkdir()
    runtime.mkdir()
    shutil.copyfile(KNOWN / "ChengHaoXie.jpg", faces / "ChengHaoXie.jpg")
    return faces, tmp_path / "cache", runtime


@pytest.fixture
def settings(dirs) -> GallerySettings:
    faces, cache, _ = dirs
    return GallerySettings.from_recognition(faces, cache, RecognitionConfig())


@pytest.fixture
def client(dirs, settings, make_client):
    return make_client(runtime_dir=dirs[2], cameras=("door",), gallery=settings)


def recent_crop(runtime: Path, photo: Path, name: str, track_id: int = 12) -> None:
    """What the worker leaves in runtime_dir for a face it named `name`."""
    frame, box = frame_of(photo)
    recent = RecentFaces(runtime / "recent" / "door", "0a1b2c3d")
    recent.start()
    face = Track(track_id, box, 0.0)
    face.vote(name, 0.47, 0.8, 0.0)
    recent.observe([face], frame, time.time())


def test_mark_a_recent_wrong_match_then_the_gallery_rejects_it(dirs, client, settings) -> None:
    faces, cache, runtime = dirs
    known, negatives, _ = load_gallery_with_negatives(settings)
    kai = known_encoding_of(KNOWN / "KaiYuChen.jpg")
    assert match(known, kai, 0.6).name == "ChengHaoXie", "the look-alike is wrongly named"
    recent_crop(runtime, KNOWN / "KaiYuChen.jpg", "ChengHaoXie")
    listed = client.get("/api/recent").json["faces"]
    assert [(f["camera"], f["track"], f["name"]) for f in listed] == [("door", 12, "ChengHaoXie")]
    assert client.get(listed[0]["crop"]).headers["Content-Type"] == "image/jpeg"
    before = snapshot(faces, cache)

    response = client.post("/api/faces/ChengHaoXie/not", json={"camera": "door", "track": 12})
    assert response.status_code == 201, response.json
    assert response.json["negative"].startswith(".negatives/ChengHaoXie/not-")
    assert snapshot(faces, cache) != before, "the daemon's poll sees the change and reloads"
    image = client.get(response.json["url"])
    assert image.status_code == 200 and image.headers["Cache-Control"] == "no-store"
    known, negatives, summary = load_gallery_with_negatives(settings)
    assert known.people == ("ChengHaoXie",) and summary.negatives == 1, "not a person of its own"
    assert refine(known, negatives, kai, match(known, kai, 0.6), 0.6).name == "Unknown"
    cheng = known_encoding_of(KNOWN / "ChengHaoXie.jpg")
    assert refine(known, negatives, cheng, match(known, cheng, 0.6), 0.6).name == "ChengHaoXie"
    (person,) = client.get("/api/faces").json["people"]
    assert person["negatives"] == [{"file": response.json["file"], "ok": True, "notes": []}]


def known_encoding_of(photo: Path) -> np.ndarray:
    from facedaemon.gallery.load import analyse_image

    return analyse_image(photo.read_bytes(), model="hog", upsample=1)[1]


def test_mark_from_an_uploaded_image_and_delete_it(dirs, client, settings) -> None:
    faces = dirs[0]
    data = {"image": (io.BytesIO((KNOWN / "KaiYuChen.jpg").read_bytes()), "kai.jpg")}
    response = client.post("/api/faces/ChengHaoXie/not", data=data, content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    file = response.json["file"]
    load_gallery_with_negatives(settings)
    assert hashlib.sha256((KNOWN / "KaiYuChen.jpg").read_bytes()).hexdigest()[:12] in file
    gone = client.delete(f"/api/faces/ChengHaoXie/negatives/{file}")
    assert gone.status_code == 200 and not (faces / ".negatives" / "ChengHaoXie" / file).exists()
    assert client.delete(f"/api/faces/ChengHaoXie/negatives/{file}").status_code == 404
    assert client.get(f"/api/faces/ChengHaoXie/negatives/{file}").status_code == 404
    _, negatives, _ = load_gallery_with_negatives(settings)
    assert len(negatives) == 0


def test_refusals_are_clear(dirs, client) -> None:
    faces, _, runtime = dirs
    not_cheng = "/api/faces/ChengHaoXie/not"
    cases = [
        (client.post("/api/faces/Nobody/not", json={"camera": "door", "track": 1}), 404, "no recent crop"),
        (client.post(not_cheng, json={"camera": "door", "track": 99}), 404, "no recent crop of track 99"),
        (client.post(not_cheng, json={"camera": "garage", "track": 1}), 400, "unknown camera 'garage'"),
        (client.post(not_cheng, json={"camera": "door", "track": "7"}), 400, "'track' must be"),
        (client.post(not_cheng, json={"camera": "door", "track": True}), 400, "'track' must be"),
        (client.post(not_cheng, data=b"x", content_type="text/plain"), 400, 'send JSON {"camera"'),
        (client.post("/api/faces/.hidden/not", json={}), 400, "invalid person name"),
        (client.post("/api/faces/Unknown/not", json={}), 400, "reserved"),
        (client.post(not_cheng, data={}, content_type="multipart/form-data"), 400, "named 'image'"),
    ]
    for response, status, text in cases:
        assert response.status_code == status, response.json
        assert text in (response.json or {}).get("detail", ""), response.json
    no_face = io.BytesIO()
    Image.new("RGB", (300, 300), (90, 90, 90)).save(no_face, "JPEG")
    refused = client.post(not_cheng, data={"image": (io.BytesIO(no_face.getvalue()), "wall.jpg")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and "wall.jpg: no face found" in refused.json["detail"]
    recent_crop(runtime, KNOWN / "KaiYuChen.jpg", "Someone")
    unknown = client.post("/api/faces/Someone/not", json={"camera": "door", "track": 12})
    assert unknown.status_code == 404 and "only a known person" in unknown.json["detail"]
    assert not (faces / ".negatives").exists(), "nothing written by a refused request"


@pytest.mark.parametrize("path", [
    "/api/faces/ChengHaoXie/negatives/..%2f..%2fChengHaoXie.jpg", "/api/faces/ChengHaoXie/negatives/.x.jpg",
    "/api/faces/..%2fChengHaoXie/negatives/x.jpg", "/api/faces/ChengHaoXie/negatives/link.jpg",
    "/api/recent/door/..%2f..%2fstatus.json", "/api/recent/door/0a1b2c3d-1%0a.jpg", "/api/recent/garage/0a1b2c3d-1.jpg",
    "/api/recent/door/link-1.jpg", "/api/recent/door/0a1b2c3d-2.jpg",
])
def test_image_routes_serve_nothing_else(dirs, client, path: str) -> None:
    faces, _, runtime = dirs
    folder = faces / ".negatives" / "ChengHaoXie"
    folder.mkdir(parents=True)
    (folder / "link.jpg").symlink_to(faces / "ChengHaoXie.jpg")
    (runtime / "recent" / "door").mkdir(parents=True)
    (runtime / "recent" / "door" / "0a1b2c3d-2.jpg").symlink_to(faces / "ChengHaoXie.jpg")
    response = client.get(path)
    assert response.status_code == 404 and b"JFIF" not in response.data


def test_forget_removes_negatives_and_their_encodings(dirs, client, settings) -> None:
    faces, cache, _ = dirs
    data = {"image": (io.BytesIO((KNOWN / "KaiYuChen.jpg").read_bytes()), "kai.jpg")}
    assert client.post("/api/faces/ChengHaoXie/not", data=data,
                       content_type="multipart/form-data").status_code == 201
    _, negatives, _ = load_gallery_with_negatives(settings)
    secret = negatives.by_person["ChengHaoXie"][0]
    secrets = [secret.astype(np.float64).tobytes(), secret.astype(np.float32).tobytes()]
    assert any(s in p.read_bytes() for p in cache.rglob("*") if p.is_file() for s in secrets), "seen before"
    report = forget(settings, "ChengHaoXie")
    assert any(f.startswith(".negatives/ChengHaoXie/") for f in report.files)
    assert not (faces / ".negatives" / "ChengHaoXie").exists()
    for path in [p for root in (faces, cache) for p in root.rglob("*") if p.is_file()]:
        content = path.read_bytes()
        assert not any(s in content for s in secrets), f"a negative's encoding is still in {path}"
        assert b"ChengHaoXie" not in content or path.suffix == ".jpg", f"the name is still in {path}"
    assert listing(settings)["people"] == []


def test_cross_origin_marks_are_refused_with_auth(dirs, settings, make_client) -> None:
    auth = AuthConfig(users={"alice": generate_password_hash("correct horse battery")})
    client = make_client(runtime_dir=dirs[2], cameras=("door",), gallery=settings, auth=auth)
    login = {"Authorization": "Basic " + base64.b64encode(b"alice:correct horse battery").decode()}
    body = {"camera": "door", "track": 1}
    assert client.post("/api/faces/ChengHaoXie/not", json=body).status_code == 401
    evil = client.post("/api/faces/ChengHaoXie/not", json=body, headers={**login, "Origin": "http://evil.example"})
    assert evil.status_code == 403
    assert client.get("/api/recent", headers=login).status_code == 200


def test_identify_uses_the_negatives_like_the_daemon(settings) -> None:
    import json

    from facedaemon.gallery.edit import mark_not
    from facedaemon.identify import run_identify

    photos = [KNOWN / "KaiYuChen.jpg", KNOWN / "ChengHaoXie.jpg"]

    def named() -> list[str]:
        out = io.StringIO()
        assert run_identify(settings, photos, scale=1.0, out=out) == 0
        return [json.loads(line)["faces"][0]["name"] for line in out.getvalue().splitlines()]

    assert named() == ["ChengHaoXie", "ChengHaoXie"]
    mark_not(settings, "ChengHaoXie", "kai.jpg", (KNOWN / "KaiYuChen.jpg").read_bytes())
    assert named() == ["Unknown", "ChengHaoXie"]
