"""Unknown faces through the web app with the real face models: crops the worker's collector wrote from a real
face are listed, served, assigned (enrolled, with the usual quality checks) and deleted; ids cannot reach
another file; crops past retention are neither listed nor served."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from facedaemon.config.models import RecognitionConfig
from facedaemon.faces.crops import shot_of
from facedaemon.faces.matcher import match
from facedaemon.faces.quality import live_quality
from facedaemon.faces.tracker import Track, offer_shot
from facedaemon.faces.types import UNKNOWN
from facedaemon.gallery.load import load_gallery
from facedaemon.gallery.settings import GallerySettings
from facedaemon.worker.unknowns import UnknownCollector
from tests.realparts import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]
IMAGES = SHARED_DATA / "images"

pytestmark = pytest.mark.needs_photos


@pytest.fixture
def settings(tmp_path: Path, gallery: Callable[..., GallerySettings]) -> GallerySettings:
    return gallery(tmp_path, "Obama", each=1)


@pytest.fixture
def dirs(settings: GallerySettings, tmp_path: Path) -> tuple[Path, Path, Path]:
    (tmp_path / "run").mkdir()
    return settings.faces_dir, settings.cache_dir, settings.faces_dir / ".unknowns"


def context(dirs, **overrides) -> dict:
    faces, cache, unknowns = dirs
    return {"runtime_dir": faces.parent / "run", "cameras": ("door",),
            "gallery": GallerySettings.from_recognition(faces, cache, RecognitionConfig()),
            "unknowns_dir": unknowns, "unknowns_save": True, "unknowns_retention": 3600.0, **overrides}


@pytest.fixture
def client(dirs, make_client):
    return make_client(**context(dirs))


def collect_stranger(folder: Path, track_id: int = 5) -> str:
    """What the worker does with a stranger in front of camera 'door': returns the crop's id."""
    from facedaemon.faces import engine
    from facedaemon.gallery.images import load_rgb

    rgb = load_rgb(IMAGES / "biden.jpg", max_side=900)
    (box,) = engine.detect_full(rgb, 0.5, "hog", 1)
    frame = np.ascontiguousarray(rgb[:, :, ::-1])
    stranger = Track(track_id, box, 0.0)
    (encoding,) = engine.encode(rgb, [box])
    stranger.vote(UNKNOWN, 0.8, 0.2, 0.0)
    offer_shot(stranger, shot_of(frame, box, live_quality(rgb, box, None, None), encoding, time.time()))
    collector = UnknownCollector(folder, "door", "0a1b2c3d")
    collector.observe([stranger], {track_id}, 0.0, time.time())
    collector.observe([], set(), 0.1, time.time())  # the track ended
    (crop,) = folder.glob(f"*-{track_id}.jpg")
    return crop.stem


def test_list_view_and_assign_a_stranger(dirs, client, settings: GallerySettings) -> None:
    unknowns = dirs[2]
    uid = collect_stranger(unknowns)
    body = client.get("/api/unknowns").json
    assert body["save"] is True and body["retention_text"] == "1h"
    (entry,) = body["unknowns"]
    assert entry["id"] == uid and entry["camera"] == "door" and entry["face_px"] >= 80 and entry["sharpness"] > 40
    image = client.get(entry["url"])
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    assert image.headers["Cache-Control"] == "no-store"

    assigned = client.post(f"/api/unknowns/{uid}/assign", json={"name": "Joe Biden"})
    assert assigned.status_code == 201, assigned.json
    assert assigned.json["added"][0].startswith("Joe Biden/")
    assert client.get("/api/unknowns").json["unknowns"] == [] and list(unknowns.iterdir()) == []
    assert client.get(entry["url"]).status_code == 404
    known, _ = load_gallery(settings)
    from facedaemon.gallery.load import analyse_image

    biden = analyse_image((IMAGES / "biden.jpg").read_bytes(), model="hog", upsample=1)[1]
    assert match(known, biden, 0.6).name == "Joe Biden", "the original photo is now named from the crop"
    assert known.people == ("Joe Biden", "Obama"), ".unknowns is not a person"


def test_assign_applies_the_enrolment_checks(dirs, client, settings: GallerySettings) -> None:
    unknowns = dirs[2]
    load_gallery(settings)  # Obama's encodings cached: what a new photo of him is compared with
    unknowns.mkdir()
    soft = io.BytesIO()
    Image.open(IMAGES / "biden.jpg").convert("RGB").filter(ImageFilter.GaussianBlur(6)).save(soft, "JPEG")
    (unknowns / "door-soft-1.jpg").write_bytes(soft.getvalue())
    refused = client.post("/api/unknowns/door-soft-1/assign", json={"name": "Joe Biden"})
    assert refused.status_code == 422 and "door-soft-1.jpg" in refused.json["detail"]
    assert "blurred" in refused.json["detail"] or "no face" in refused.json["detail"]
    assert (unknowns / "door-soft-1.jpg").exists(), "a refused crop stays to be deleted by hand"
    uid = collect_stranger(unknowns)
    other = client.post(f"/api/unknowns/{uid}/assign", json={"name": "Obama"})
    assert other.status_code == 422 and "likely a different person" in other.json["detail"]
    for body, status, text in (({"name": "../x"}, 400, "invalid person name"), ({"name": "Unknown"}, 400, "reserved"),
                               ({}, 400, 'send JSON {"name"'), ([], 400, 'send JSON {"name"')):
        response = client.post(f"/api/unknowns/{uid}/assign", json=body)
        assert response.status_code == status and text in response.json["detail"]
    missing = client.post("/api/unknowns/door-nothing-1/assign", json={"name": "Joe"})
    assert missing.status_code == 404 and "no unknown face 'door-nothing-1'" in missing.json["detail"]


def test_delete(dirs, client) -> None:
    _, _, unknowns = dirs
    uid = collect_stranger(unknowns)
    assert client.delete(f"/api/unknowns/{uid}").json == {"id": uid, "removed": True}
    assert list(unknowns.iterdir()) == []
    assert client.delete(f"/api/unknowns/{uid}").status_code == 404


def test_expired_crops_are_not_listed_or_served(dirs, client) -> None:
    _, _, unknowns = dirs
    uid = collect_stranger(unknowns)
    old = time.time() - 7200
    os.utime(unknowns / f"{uid}.jpg", (old, old))
    assert client.get("/api/unknowns").json["unknowns"] == []
    assert client.get(f"/api/unknowns/{uid}.jpg").status_code == 404
    assert client.post(f"/api/unknowns/{uid}/assign", json={"name": "Joe"}).status_code == 404


@pytest.mark.parametrize("uid", ["..%2f..%2fObama%2fobama2", "..", ".hidden", "x%00", "a.b", "%2e%2e", "link",
                                 "%2fetc%2fpasswd", "x" * 200])
def test_ids_never_reach_another_file(dirs, client, uid: str) -> None:
    faces, _, unknowns = dirs
    unknowns.mkdir()
    (unknowns / "link.jpg").symlink_to(faces / "Obama" / "obama2.jpg")
    for response in (client.get(f"/api/unknowns/{uid}.jpg"), client.delete(f"/api/unknowns/{uid}"),
                     client.post(f"/api/unknowns/{uid}/assign", json={"name": "Joe"})):
        assert response.status_code in (400, 404, 405), (uid, response.status_code)
        assert b"JFIF" not in response.data and b"Exif" not in response.data
    assert (faces / "Obama" / "obama2.jpg").is_file() and not (faces / "Joe").exists()


def test_save_off_lists_leftovers_and_says_so(dirs, make_client) -> None:
    client = make_client(**context(dirs, unknowns_save=False))
    body = client.get("/api/unknowns").json
    assert body == {"save": False, "retention": 3600.0, "retention_text": "1h", "unknowns": []}
    assert not dirs[2].exists(), "listing never creates the folder"
    assert make_client(**context(dirs, unknowns_dir=None)).get("/api/unknowns").status_code == 404


def test_faces_page_has_the_new_lists(client) -> None:
    page = client.get("/faces").text
    assert 'id="recent"' in page and 'id="unknowns"' in page and 'data-unknowns="/api/unknowns"' in page
    assert "<script>" not in page
