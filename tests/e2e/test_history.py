"""The visit history against the real daemon: the people clip shows Obama (known) the whole time and Biden (a
stranger to this gallery) from 2 s to 4 s of every 6 s loop. Obama's visit appears in /api/history with a thumbnail
of his best shot and in the CSV; Biden's is a stranger's; forgetting Obama leaves no trace of his name in the
database, its WAL or its shared-memory file. Headless Chromium shows the history page with the thumbnails loaded
(a screenshot is saved in the test's tmp dir) and Obama's last seen on the known-faces page."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from devtools.browser import Chromium, wait_until
from devtools.daemon import write_config
from tests.e2e.media import make_people_clip, obama_gallery

pytestmark = pytest.mark.e2e

JPEG = b"\xff\xd8\xff"


def visits(daemon, **params) -> list[dict]:
    answer = daemon.get("/api/history", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["visits"]


def database_files(state: Path) -> list[Path]:
    return [p for p in state.glob("history.sqlite3*") if p.is_file()]


LOADED_THUMBS = ("[...document.querySelectorAll('.visit img')].filter(i => i.complete && i.naturalWidth > 0)"
                 ".length")


def check_pages_in_chromium(chromium: str, daemon, tmp_path: Path) -> None:
    import cv2

    with Chromium(chromium) as browser:
        browser.goto(daemon.base_url + "/history")
        count = wait_until(lambda: browser.evaluate(LOADED_THUMBS), 20, "thumbnails on the history page", browser)
        assert "Obama" in browser.evaluate("document.getElementById('groups').textContent")
        shot = browser.screenshot(browser.rect(".visit img"))
        (tmp_path / "history-page.png").write_bytes(browser.screenshot())
        print(f"{count} thumbnails loaded; screenshot {tmp_path / 'history-page.png'}")
        pixels = cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_COLOR)
        assert pixels.std() > 10, "the thumbnail on screen is blank"
        browser.goto(daemon.base_url + "/faces")
        seen = wait_until(lambda: browser.evaluate("document.querySelector('.last-seen')?.textContent"), 20,
                          "Obama's last seen on the faces page", browser)
        assert seen.startswith("last seen ") and "on people" in seen, seen


def test_visits_appear_in_the_api_and_csv_and_forget_leaves_no_trace(tmp_path, shared_data, run_daemon,
                                                                      chromium) -> None:
    faces = obama_gallery(shared_data, tmp_path / "faces")
    clip = make_people_clip(shared_data, tmp_path / "people.mp4")
    config_path, port = write_config(tmp_path, {"people": {"source": str(clip), "loop": True}}, faces,
                                     unknowns={"save": True, "retention": "1h"}, history={"grace": "30s"})
    daemon = run_daemon.start(tmp_path, config_path, port, ready=None)
    daemon.wait_for(lambda: daemon.get("/healthz").status_code == 200, 60, "/healthz to say ok")
    # Obama is on screen all the time: named once the worker has loaded the gallery (15 s after /healthz on a
    # loaded machine); his thumbnail follows his first best shot.
    obama = daemon.wait_for(lambda: [v for v in visits(daemon, person="Obama") if v["thumb"]], 60,
                            "Obama's visit with a thumbnail in /api/history")[0]
    assert obama["camera"] == "people" and obama["unknown"] is False and obama["confidence"] > 0.3, obama
    thumb = daemon.get(obama["thumb"])
    assert thumb.status_code == 200 and thumb.content.startswith(JPEG)
    # One visit, extended while he stays (a lost and found track within the grace continues it).
    later = daemon.wait_for(lambda: [v for v in visits(daemon, person="Obama")
                                     if v["last_seen_ts"] >= obama["last_seen_ts"] + 2], 10, "his visit to go on")
    assert len(later) == 1 and later[0]["id"] == obama["id"]
    # Biden reads Unknown 2 s of every 6 s loop: a stranger's visit (confirmed after 1 s Unknown).
    stranger = daemon.wait_for(lambda: visits(daemon, unknown="1"), 5 * 6.0, "a stranger's visit")[0]
    assert stranger["person"] is None and stranger["camera"] == "people"
    rows = list(csv.DictReader(io.StringIO(daemon.get("/api/history.csv").text)))
    assert any(r["person"] == "Obama" and r["camera"] == "people" for r in rows), rows
    day = {"from": time.time() - 3600, "to": time.time() + 60, "camera": "people"}
    assert {v["id"] for v in visits(daemon, **day)} >= {obama["id"], stranger["id"]}

    check_pages_in_chromium(chromium, daemon, tmp_path)

    state = tmp_path / "state"
    assert any(b"Obama" in p.read_bytes() for p in database_files(state))
    forgotten = requests.delete(f"{daemon.base_url}/api/faces/Obama", timeout=30)
    assert forgotten.status_code == 200, forgotten.text
    # The worker notices within one 2 s poll; the daemon then forgets and truncates the WAL.
    daemon.wait_for(lambda: "history: forgot" in daemon.log(), 5 * 4.0, "the history to forget Obama")
    assert visits(daemon, person="Obama") == []
    left = [p.name for p in database_files(state) if b"Obama" in p.read_bytes()]
    assert left == [], f"Obama's name is still in {left}"
