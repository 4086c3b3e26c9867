"""Enrol and forget with the real face models: CLI, library and web routes, and proof that forget leaves nothing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, ImageFilter

from facedaemon.gallery.cache import CACHE_FILE
from facedaemon.gallery.edit import enroll, forget
from facedaemon.gallery.layout import EnrollError, UnknownPerson
from facedaemon.gallery.listing import listing
from facedaemon.gallery.load import load_gallery
from facedaemon.gallery.settings import GallerySettings
from facedaemon.web.app import MAX_CONTENT_LENGTH
from tests.realparts import SHARED_DATA, missing

REPO = Path(__file__).resolve().parents[2]
DATA = SHARED_DATA
IMAGES = DATA / "images"

pytestmark = pytest.mark.needs_photos


def photo(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


def blurred(name: str, radius: float = 5) -> bytes:
    buffer = io.BytesIO()
    Image.open(IMAGES / name).convert("RGB").filter(ImageFilter.GaussianBlur(radius)).save(buffer, "JPEG")
    return buffer.getvalue()


def tiny(name: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.open(IMAGES / name).convert("RGB")
    image.thumbnail((200, 200))
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture
def settings(tmp_path: Path, gallery: Callable[..., GallerySettings]) -> GallerySettings:
    return gallery(tmp_path, "Biden", flat=True)


def all_bytes(*roots: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def test_enroll_writes_checked_photos_and_lists_them(settings) -> None:
    faces = settings.faces_dir
    written, checks = enroll(settings, "Barack Obama", [("obama2.jpg", photo("obama2.jpg")),
                                                            ("x/obama3.jpg", photo("obama3.jpg"))])
    assert len(written) == 2 and all(w.startswith("Barack Obama/") and w.endswith(".jpg") for w in written)
    assert all(c.ok and c.quality.face_px >= 80 for c in checks)
    assert not [p for p in (faces / "Barack Obama").iterdir() if p.name.startswith(".")], "no temporary file left"
    people = {p["name"]: p for p in listing(settings)["people"]}
    assert people["Barack Obama"]["images"] == 2
    assert "not loaded yet" in people["Barack Obama"]["files"][0]["notes"][0]
    load_gallery(settings)  # what the daemon does when it notices the change
    people = {p["name"]: p for p in listing(settings)["people"]}
    assert people["Barack Obama"]["files"] == [{"file": w, "ok": True, "notes": []} for w in sorted(written)], \
        "both photos are loaded and clean"
    assert 0 < people["Barack Obama"]["consistency"] < 0.6
    assert people["Biden"]["images"] == 1 and people["Biden"]["consistency"] is None


def test_enroll_leaves_its_encodings_in_the_cache_for_the_daemons_reload(settings, tmp_path: Path) -> None:
    """The checks encoded the photos already: the daemon's reload takes them from the cache ("This is …" names a
    stranger that much sooner), and they are what it would have encoded itself."""
    load_gallery(settings)
    enroll(settings, "Barack Obama", [("obama2.jpg", photo("obama2.jpg")), ("obama3.jpg", photo("obama3.jpg"))])
    known, summary = load_gallery(settings)
    assert (summary.encoded, summary.cached, summary.images) == (0, 3, 3)
    fresh, again = load_gallery(replace(settings, cache_dir=tmp_path / "fresh-cache"))
    assert again.encoded == 3 and fresh.names == known.names
    assert np.allclose(np.asarray(fresh.encodings), np.asarray(known.encodings), atol=1e-6)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not an image", "not a usable image"),
        (lambda: photo("../known_faces/GEM.jpg")[:2000], "not a usable image"),
        (lambda: blurred("obama.jpg"), "too blurred"),
        (lambda: tiny("obama2.jpg"), "too small"),
    ],
)
def test_enroll_refuses_bad_photos_naming_file_and_reason(settings, data, reason: str) -> None:
    faces = settings.faces_dir
    body = data() if callable(data) else data
    with pytest.raises(EnrollError, match=rf"bad\.jpg: .*{reason}"):
        enroll(settings, "Obama", [("good.jpg", photo("obama2.jpg")), ("bad.jpg", body)])
    assert not (faces / "Obama").exists() or not any((faces / "Obama").iterdir()), "all or nothing"


def test_enroll_refuses_a_photo_without_a_face(settings, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (120, 160, 200)).save(buffer, "PNG")
    with pytest.raises(EnrollError, match=r"sky\.png: no face found"):
        enroll(settings, "Obama", [("sky.png", buffer.getvalue())])


def test_enroll_flags_a_different_person(settings) -> None:
    enroll(settings, "Obama", [("a.jpg", photo("obama2.jpg")), ("b.jpg", photo("obama3.jpg"))])
    load_gallery(settings)
    with pytest.raises(EnrollError, match=r"biden\.jpg: likely a different person"):
        enroll(settings, "Obama", [("biden.jpg", photo("biden.jpg"))])
    written, _ = enroll(settings, "Obama", [("biden.jpg", photo("biden.jpg"))], allow_flagged=True)
    load_gallery(settings)
    obama = {p["name"]: p for p in listing(settings)["people"]}["Obama"]
    notes = {f["file"]: f["notes"] for f in obama["files"]}
    assert any("likely a different person" in n for n in notes[written[0]])


@pytest.mark.parametrize("name", ["", ".hidden", "../x", "a/b", "a\\b", "x" * 65, "trailing ", "dot.", "Unknown",
                                  "nul\x00", "new\nline", "é"])
def test_bad_names_refused(settings, name: str) -> None:
    with pytest.raises(EnrollError, match="invalid person name"):
        enroll(settings, name, [("a.jpg", photo("obama2.jpg"))])
    # forget takes any name the gallery could have loaded (erasure); paths and hidden names stay refused
    refused = "invalid person name" if name in ("", ".hidden", "../x", "a/b", "nul\x00") else "no photos of"
    with pytest.raises(EnrollError, match=refused):
        forget(settings, name)


def test_forget_leaves_no_trace_in_faces_or_cache(settings) -> None:
    faces, cache = settings.faces_dir, settings.cache_dir
    (faces / "Obama.png").write_bytes(_png(photo("obama.jpg")))  # flat layout too
    enroll(settings, "Obama", [("a.jpg", photo("obama2.jpg")), ("b.jpg", photo("obama3.jpg"))])
    known, _ = load_gallery(settings)
    theirs = [known.encodings[i] for i, n in enumerate(known.names) if n == "Obama"]
    assert len(theirs) == 3
    secrets = [np.asarray(e, dtype=np.float64).tobytes() for e in theirs]
    secrets += [np.asarray(e, dtype=np.float32).tobytes() for e in theirs]
    digests = [hashlib.sha256(p.read_bytes()).hexdigest().encode() for p in faces.rglob("*") if "Obama" in str(p)
               and p.is_file()]
    assert any(s in data for _, data in all_bytes(cache) for s in secrets[:3]), "the test must see them before"

    report = forget(settings, "Obama")
    assert len(report.files) == 3 and report.cache_entries == 3
    for path, data in all_bytes(faces, cache):
        for secret in secrets:
            assert secret not in data, f"an encoding of the forgotten person is still in {path}"
        for digest in digests:
            assert digest not in data, f"a photo hash of the forgotten person is still in {path}"
        if cache in path.parents:  # (biden.jpg's own EXIF caption mentions Obama)
            assert b"Obama" not in data, f"the forgotten person's name is still in {path}"
    assert {p["name"] for p in listing(settings)["people"]} == {"Biden"}
    known, _ = load_gallery(settings)
    assert known.people == ("Biden",)  # and Biden's cache entry survived
    with pytest.raises(UnknownPerson):
        forget(settings, "Obama")


def _png(jpeg: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(buffer, "PNG")
    return buffer.getvalue()


def test_forget_after_cache_built_with_other_settings_still_purges(settings) -> None:
    cache = settings.cache_dir
    enroll(settings, "Obama", [("a.jpg", photo("obama2.jpg"))])
    known, _ = load_gallery(replace(settings, upsample=0))  # another params string in the cache
    secret = known.encodings[known.names.index("Obama")].astype(np.float64).tobytes()
    forget(settings, "Obama")
    assert all(secret not in data for _, data in all_bytes(cache))


# --- web ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def client(settings, make_client):
    return make_client(gallery=settings)


def upload(client, name: str, *files: tuple[str, bytes]):
    data = {"images": [(io.BytesIO(body), filename) for filename, body in files]}
    return client.post(f"/api/faces/{name}", data=data, content_type="multipart/form-data")


def test_web_enroll_list_forget(client) -> None:
    response = upload(client, "Barack Obama", ("obama2.jpg", photo("obama2.jpg")))
    assert response.status_code == 201, response.json
    assert response.json["added"][0].startswith("Barack Obama/")
    listed = {p["name"]: p for p in client.get("/api/faces").json["people"]}
    assert listed["Barack Obama"]["images"] == 1 and listed["Biden"]["images"] == 1
    gone = client.delete("/api/faces/Barack Obama")
    assert gone.status_code == 200 and len(gone.json["removed_files"]) == 1
    assert client.delete("/api/faces/Barack Obama").status_code == 404
    assert "Barack Obama" not in {p["name"] for p in client.get("/api/faces").json["people"]}


def test_web_refusals_name_file_and_reason(client) -> None:
    bad = upload(client, "Obama", ("holiday.jpg", blurred("obama.jpg")))
    assert bad.status_code == 422 and "holiday.jpg" in bad.json["detail"] and "blurred" in bad.json["detail"]
    assert upload(client, "..", ("a.jpg", photo("obama2.jpg"))).status_code in (400, 404)
    assert upload(client, ".hidden", ("a.jpg", photo("obama2.jpg"))).status_code == 400
    assert client.post("/api/faces/Obama", data={}, content_type="multipart/form-data").status_code == 400
    assert client.delete("/api/faces/Unknown").status_code == 404  # no such folder (erasure takes any name)
    assert client.delete("/api/faces/.hidden").status_code == 400


def test_upload_limit_is_20_mib_on_the_upload_route_only(client) -> None:
    big = b"\xff" * (3 * MAX_CONTENT_LENGTH)
    response = upload(client, "Obama", ("big.jpg", big))
    assert response.status_code == 415, "3 MiB passes the body limit and is then refused as an image"
    assert "big.jpg" in response.json["detail"]
    assert upload(client, "Obama", ("huge.jpg", b"\xff" * (21 * 1024 * 1024))).status_code == 413
    assert client.delete("/api/faces/Obama", data=big).status_code == 413  # global limit everywhere else
    assert client.post("/api/cameras", data=big).status_code == 413


def test_faces_page_has_no_inline_script(client) -> None:
    page = client.get("/faces")
    assert page.status_code == 200
    assert '<script src="/static/faces.js"' in page.text and "<script>" not in page.text
    scripts = re.findall(r'<script src="/static/([^"?]+)', page.text)
    assert scripts == ["ui.js", "faces.js", "groups.js"], "the shared helpers first: the page scripts use them"
    assert "form-action 'none'" in page.headers["Content-Security-Policy"]
    assert client.get("/static/faces.js").status_code == 200


def test_no_faces_dir_means_404(tmp_path: Path, make_client) -> None:
    client = make_client(runtime_dir=tmp_path, cameras=("door",))
    assert client.get("/api/faces").status_code == 404 and client.get("/faces").status_code == 404


# --- CLI ----------------------------------------------------------------------------------------------------------


def test_cli_enroll_and_forget(settings, tmp_path: Path) -> None:
    faces, cache = settings.faces_dir, settings.cache_dir
    config = tmp_path / "facedaemon.yaml"
    config.write_text(yaml.safe_dump({"faces_dir": str(faces), "cache_dir": str(cache), "runtime_dir":
                                      str(tmp_path / "run"), "cameras": {"door": {"source": "pattern"}}}))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "facedaemon", *args], capture_output=True, text=True,
                              cwd=REPO, timeout=120)

    added = cli("enroll", "--config", str(config), "Obama", str(IMAGES / "obama2.jpg"))
    assert added.returncode == 0, added.stderr
    assert "1 photo(s) added" in added.stdout
    refused = cli("enroll", "--config", str(config), "Obama", str(IMAGES / "obama2.jpg"), str(DATA / "nope.jpg"))
    assert refused.returncode == 1 and "nope.jpg" in refused.stderr and "Traceback" not in refused.stderr
    bad = cli("enroll", "--config", str(config), "../etc", str(IMAGES / "obama2.jpg"))
    assert bad.returncode == 1 and "invalid person name" in bad.stderr
    gone = cli("forget", "--config", str(config), "Obama")
    assert gone.returncode == 0 and "removed 1 file(s)" in gone.stdout, gone.stderr
    assert not (faces / "Obama").exists()
    again = cli("forget", "--config", str(config), "Obama")
    assert again.returncode == 1 and "no photos of 'Obama'" in again.stderr
    assert json.loads(json.dumps(listing(settings)))["people"][0]["name"] == "Biden"
    assert not (cache / CACHE_FILE).exists() or b"Obama" not in (cache / CACHE_FILE).read_bytes()


def test_error_bodies_never_show_absolute_paths(client, settings) -> None:
    faces = settings.faces_dir
    response = client.delete("/api/faces/Nobody")
    assert response.status_code == 404
    detail = response.get_json()["detail"]
    assert str(faces) not in detail and "faces_dir" in detail, detail


def test_enroll_as_root_leaves_photos_the_service_user_can_read(tmp_path: Path) -> None:
    # `sudo facedaemon enroll` as docs/faces.md shows: the folder and photos must go to faces_dir's owner (the
    # service user), not stay root's 0700/0600 where the daemon cannot read them.
    if os.geteuid() != 0:
        missing("root", "this test runs `facedaemon enroll` as root (CI runs as root)")
    service = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="facedaemon-enroll-"))  # outside root's 0700 pytest folder
    try:
        base.chmod(0o755)
        faces = base / "faces"
        faces.mkdir(mode=0o700)
        os.chown(faces, service.pw_uid, service.pw_gid)
        config = base / "facedaemon.yaml"
        config.write_text(yaml.safe_dump({"faces_dir": str(faces), "runtime_dir": str(base / "run"),
                                          "cache_dir": str(base / "cache"),
                                          "cameras": {"door": {"source": "pattern"}}}))
        result = subprocess.run([sys.executable, "-m", "facedaemon", "enroll", "--config", str(config), "Barack Obama",
                                 str(IMAGES / "obama2.jpg")], capture_output=True, text=True, timeout=120, cwd=REPO)
        assert result.returncode == 0, result.stderr
        person = faces / "Barack Obama"
        owners = {str(p.relative_to(faces)): p.stat().st_uid for p in faces.rglob("*")}  # photos, locks
        assert set(owners.values()) == {service.pw_uid}, owners
        # The real check: the service user reads every photo (the daemon's gallery walk does the same).
        read = subprocess.run(["/usr/bin/python3", "-c", "import pathlib, sys; print(sum(len(p.read_bytes()) for p in "
                               "pathlib.Path(sys.argv[1]).iterdir()))", str(person)],
                              user=service.pw_uid, group=service.pw_gid, capture_output=True, text=True, timeout=30)
        assert read.returncode == 0 and int(read.stdout) > 10_000, read.stderr
        assert f"belong to uid {service.pw_uid}" in result.stdout, "the CLI says what it did: " + result.stdout
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_enroll_with_a_cache_folder_it_cannot_write_still_enrols(settings, tmp_path: Path) -> None:
    """The cached encodings only save the daemon work: a cache_dir that cannot be made costs that, not the photos."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    written, _ = enroll(replace(settings, cache_dir=blocker / "cache"), "Barack Obama",
                        [("obama2.jpg", photo("obama2.jpg"))])
    assert (settings.faces_dir / written[0]).is_file()
