"""Right to erasure through the real gunicorn and the CLI: every person the gallery loads can be forgotten, and
an enrol racing a forget of the same person never answers 500 nor leaves files behind."""

from __future__ import annotations

import subprocess
import sys
import threading
from urllib.parse import quote

import pytest

from devtools import REPO
from devtools.web_server import web_server
from facedaemon.gallery.layout import scan

pytestmark = pytest.mark.e2e

HAND_MADE = ["José", "Anne-Marie O'Neil", "李小龙", "x" * 70, "name with\nnewline", "trailing dot."]


@pytest.fixture(scope="module")
def web(tmp_path_factory, shared_data):
    with web_server(tmp_path_factory.mktemp("erasure"), http={"workers": 2}) as running:
        running.photo = (shared_data / "images" / "obama.jpg").read_bytes()
        yield running


def plant(web, name: str) -> None:
    folder = web.folder / "faces" / name
    folder.mkdir()
    (folder / "a.jpg").write_bytes(web.photo)
    assert name in {person for person, _ in scan(web.folder / "faces")}  # the gallery loads this person


@pytest.mark.parametrize("name", HAND_MADE)
def test_every_loaded_person_can_be_forgotten_over_http(web, name):
    plant(web, name)
    response = web.request("DELETE", "/api/faces/" + quote(name, safe=""))
    assert response.status_code == 200, response.text
    assert not (web.folder / "faces" / name).exists()


def test_every_loaded_person_can_be_forgotten_from_the_cli(web):
    plant(web, "José")
    result = subprocess.run([sys.executable, "-m", "facedaemon", "forget", "--config",
                             str(web.folder / "facedaemon.yaml"), "José"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not (web.folder / "faces" / "José").exists()


def test_hidden_and_path_names_are_still_refused(web):
    for name in (".facedaemon-cache", "..", ".hidden"):
        assert web.request("DELETE", "/api/faces/" + quote(name, safe="")).status_code in (400, 404), name
    assert (web.folder / "faces").is_dir()


def test_enrol_racing_forget_never_fails_nor_leaves_files(web, shared_data):
    photos = [(n, (shared_data / "images" / n).read_bytes()) for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    stop = threading.Event()
    forgets: list[int] = []

    def hammer():  # forget the person again and again while enrolments write their photos
        while not stop.is_set():
            forgets.append(web.request("DELETE", "/api/faces/Racer").status_code)

    enrols = []
    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        for _ in range(6):
            files = [("images", photo) for photo in photos]
            enrols.append(web.request("POST", "/api/faces/Racer", files=files).status_code)
    finally:
        stop.set()
        thread.join(30)
    assert 500 not in enrols + forgets, (enrols, forgets)
    assert set(enrols) == {201} and set(forgets) <= {200, 404}, (enrols, forgets)
    web.request("DELETE", "/api/faces/Racer")
    assert not (web.folder / "faces" / "Racer").exists()
    leftovers = [p for p in (web.folder / "faces").rglob("*") if p.name.startswith((".enroll-", ".not-"))]
    assert not leftovers
