"""Unknown visitors grouped, against the real daemon. The people clip shows Obama (known) the whole time and Biden (a
stranger) from 2 s to 4 s of every 6 s loop: each loop is a new visit, a new track, a new crop.

Naming a group from the page ("This is …", his name on the stream, his visits relabelled) is a step of
docs/history.md's walkthrough: tests/e2e/test_walkthrough.py.

- Ignoring the group from the page (/faces in headless Chromium, which shows the group's best shots): from his
  next visit on he reads "face", never Unknown: no Unknown event, and no crop of him is kept."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devtools.browser import Chromium, save_png, wait_until
from devtools.daemon import write_config
from tests.e2e.media import make_people_clip, obama_gallery

pytestmark = pytest.mark.e2e

LOOP_SECONDS = 6.0  # make_people_clip: Biden is on screen from 2 s to 4 s of each loop


def names(daemon) -> list[str]:
    return [face["name"] for face in daemon.get("/api/cameras/people/faces").json()["faces"]]


def groups(daemon) -> list[dict]:
    return daemon.get("/api/unknowns/groups").json()["groups"]


def start(tmp_path, shared_data, run_daemon, **overrides):
    faces = obama_gallery(shared_data, tmp_path / "faces")
    clip = make_people_clip(shared_data, tmp_path / "people.mp4")
    config_path, port = write_config(tmp_path, {"people": {"source": str(clip), "loop": True}}, faces,
                                     unknowns={"save": True, "retention": "1h"}, **overrides)
    daemon = run_daemon.start(tmp_path, config_path, port, ready=None)
    daemon.wait_for(lambda: daemon.get("/healthz").status_code == 200, 60, "/healthz to say ok")
    return daemon, faces


def one_group_of(daemon, visits: int) -> dict:
    """Biden's group once it holds `visits` crops (one a loop, written 1 s into his visit), and no other group."""
    # The first: the worker starts (models, gallery) and Biden reads Unknown, as test_unknowns.py allows.
    daemon.wait_for(lambda: groups(daemon), 60, "Biden's first visit grouped", interval=0.2)
    # Then one a loop; a crop is grouped within 0.5 s of being written: 3× a loop's slack on a loaded machine.
    found = daemon.wait_for(lambda: (g := groups(daemon)) and max(x["size"] for x in g) >= visits and g,
                            (visits - 1) * LOOP_SECONDS + 3 * (LOOP_SECONDS + 2.0),
                            f"{visits} of Biden's visits grouped", interval=0.2)
    assert len(found) == 1, f"Biden's visits in one group: {found}"
    return found[0]


def ignore_on_the_page(chromium: str, daemon, group: dict, shot: Path) -> None:
    """/faces lists the group with its best shots loaded (checked in the page and on a screenshot); its Ignore
    button is pressed."""
    item = f"[...document.querySelectorAll('#groups li.group')].find(li => li.textContent.includes('{group['id']}'))"
    with Chromium(chromium) as page:
        page.goto(daemon.base_url + "/faces")
        loaded = f"(() => {{ const li = {item}; return li ? [...li.querySelectorAll('img')]" \
                 ".filter(i => i.complete && i.naturalWidth > 0).length : 0; })()"
        wait_until(lambda: (page.evaluate(loaded) or 0) >= 2, 30, "the group's best shots shown", page)
        png = page.screenshot(page.rect("#groups"))
        print(f"groups page: {save_png(png, shot)}")
        pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)
        assert pixels.std() > 20, "the screenshot shows faces, not a blank list"
        page.evaluate(f"[...{item}.querySelectorAll('button')].find(b => b.textContent === 'Ignore').click()")
        message = "document.getElementById('message').textContent"
        wait_until(lambda: (page.evaluate(message) or "").startswith("Ignored"), 30, "the ignore reported", page)
        assert not [line for line in page.console if "rror" in line], page.console


UNKNOWN_EVENT = "camera people: Unknown recognised"  # the log sink's line for an unknown visitor's event


def test_an_ignored_group_reads_face_and_keeps_no_crop(tmp_path, shared_data, run_daemon, chromium) -> None:
    daemon, faces = start(tmp_path, shared_data, run_daemon, events={"unknown_visitors": ["people"]})
    group = one_group_of(daemon, 2)
    # His visits are events until then (the control: a visit takes 1 s to confirm, so not every one is).
    daemon.wait_for(lambda: UNKNOWN_EVENT in daemon.log(), 3 * (LOOP_SECONDS + 2.0), "an Unknown event for Biden")
    ignore_on_the_page(chromium, daemon, group, tmp_path / "groups.png")
    # The worker hears of it within its 0.5 s look at the groups (and re-decides a visit under way at its 2 s poll).
    daemon.wait_for(lambda: "unknowns: 1 ignored group(s)" in daemon.log(), 3 * (0.5 + 1.0),
                    "the worker to load the ignored group")
    # Then a moment without Biden, and two whole loops watched.
    daemon.wait_for(lambda: names(daemon) == ["Obama"], 3 * (2.5 + LOOP_SECONDS),
                    "a moment without Biden after the ignore", interval=0.1)
    seen: set[str] = set()
    events_before = daemon.log().count(UNKNOWN_EVENT)
    until = time.monotonic() + 2 * LOOP_SECONDS
    while time.monotonic() < until:
        seen.update(names(daemon))
        time.sleep(0.1)
    assert "Unknown" not in seen and "face" in seen, f"Biden reads 'face' while ignored: {seen}"
    assert daemon.log().count(UNKNOWN_EVENT) == events_before, "no Unknown event while his group is ignored"
    assert not list((faces / ".unknowns").glob("*.jpg")), "no crop of an ignored face"
    (shown,) = groups(daemon)
    assert shown["ignored"] and shown["id"] == group["id"] and shown["kept"] >= 2
