"""The page in a real browser: headless Chromium plays every camera live, shows the boxes and the faces list,
reports what it cannot play, survives an ffmpeg restart, and stays within a loose glass-to-glass bound.

Chromium is Debian's (tests/debian-packages.txt; scripts/test-deps installs it), driven over the DevTools
protocol on a pipe (devtools/browser.py). Screenshots are saved under pytest's tmp dir; the paths are printed.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import statistics
import time

import numpy as np
import pytest

from devtools.browser import H264, Chromium, read_delay, video_state, wait_until
from devtools.processes import descendants
from tests.e2e.media import colour_pixels, make_people_clip, obama_gallery
from tests.realparts import missing

pytestmark = pytest.mark.e2e

GREEN = (0, 200, 0)  # annotate.draw.KNOWN_COLOUR
CAMERAS = ("people", "pattern")


def video(camera: str) -> str:
    return f'section[data-camera="{camera}"] video'


def section_attr(browser: Chromium, camera: str, what: str) -> str | None:
    # null until the page has loaded: navigation returns before the document exists.
    return browser.evaluate(f"(() => {{ const s = document.querySelector('section[data-camera=\"{camera}\"]');"
                            f" return s ? s.{what} : null; }})()")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, shared_data, chromium, run_module_daemon):
    tmp = tmp_path_factory.mktemp("browser")
    faces = obama_gallery(shared_data, tmp / "faces")
    clip = make_people_clip(shared_data, tmp / "people.mp4")
    cameras = {
        "people": {"source": str(clip), "loop": True},
        "pattern": {"source": "pattern", "width": 640, "height": 360, "fps": 15, "recognize": False},
    }
    return run_module_daemon(tmp, cameras, faces)


@pytest.fixture(scope="module")
def browser(daemon, chromium):
    with Chromium(chromium) as instance:
        instance.goto(daemon.base_url + "/")
        yield instance


@pytest.fixture(scope="module")
def h264(browser) -> None:
    supported = browser.evaluate(f"MediaSource.isTypeSupported({json.dumps(H264)})")
    if not supported:
        missing("chromium H.264", f"THIS CHROMIUM BUILD CANNOT PLAY H.264 ({H264} unsupported by MediaSource): the "
                "live player cannot be tested; test_player_reports_an_unplayable_codec checks the page says so")


def test_every_camera_plays_live(browser, h264):
    for camera in CAMERAS:
        wait_until(lambda c=camera: section_attr(browser, c, "dataset.player") == "playing", 60,
                   f"the {camera} player to play", browser)
        start = video_state(browser, video(camera))
        time.sleep(3)
        end = video_state(browser, video(camera))
        assert end["time"] > start["time"] + 1.0, (camera, start, end, browser.console)
        assert end["error"] is None and not end["paused"], (camera, end)
        assert section_attr(browser, camera, "dataset.player") == "playing"
        assert section_attr(browser, camera, "querySelector('.note').textContent") == ""
        # Near the live edge: never more than a few segments behind the newest buffered frame.
        assert end["end"] - end["time"] < 6, (camera, end)


def test_screenshot_shows_the_labelled_box_and_the_faces_list(browser, h264, tmp_path):
    import cv2

    wait_until(lambda: "Obama" in (section_attr(browser, "people", "querySelector('.faces').textContent") or ""), 90,
               "Obama in the page's faces list", browser)

    def boxed():
        png = browser.screenshot(browser.rect(video("people")))
        image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        green = colour_pixels(image, GREEN)
        return (png, image, green) if green > 150 else None

    png, image, green = wait_until(boxed, 30, "the green box in a screenshot of the people <video>", browser)
    element = tmp_path / "people-video.png"
    element.write_bytes(png)
    page = tmp_path / "page.png"
    page.write_bytes(browser.screenshot())
    print(f"\nscreenshots: {page} (whole page), {element} (people video, {green} green box pixels)")
    assert image.shape[1] >= 300, "the video element is laid out at a visible size"
    labels = section_attr(browser, "people", "querySelector('.faces').textContent")
    assert "Obama" in labels and "%" in labels


def test_glass_to_glass_delay_is_sane(browser, h264):
    # The figure itself comes from scripts/glass-to-glass; a test on a shared 2-core machine bounds it at 3x.
    delays = [delay for delay, _ in (read_delay(browser, video("pattern")) for _ in range(8)) if delay is not None]
    assert len(delays) >= 4, f"the pattern's clock stripe decoded in {len(delays)}/8 screenshots"
    # docs/performance.md: p95 1.85 s; a 3x regression must fail
    assert 0 < statistics.median(delays) < 3 * 1.85, f"{delays} (p95 1.85 s in docs/performance.md)"
    print(f"\nglass-to-glass (pattern 640x360@15, loaded test machine): {[round(d, 2) for d in delays]} s")


def test_player_recovers_after_an_ffmpeg_restart(daemon, browser, h264):
    def pattern_ffmpeg():
        found = []
        for pid in descendants(daemon.process.pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    if b"pattern/index.m3u8" in handle.read():
                        found.append(pid)
            except OSError:
                continue
        return found

    for pid in daemon.wait_for(pattern_ffmpeg, 30, "the pattern camera's ffmpeg"):
        os.kill(pid, signal.SIGKILL)
    killed_at = time.time()
    # The player re-opens with the new run's init segment; then the frames it shows must be from after the kill.
    wait_until(lambda: (state := video_state(browser, video("pattern"))) and state["time"] > 0.5
               and section_attr(browser, "pattern", "dataset.player") == "playing"
               and (delay := read_delay(browser, video("pattern"))[0]) is not None
               and time.time() - delay > killed_at, 60, "the pattern player to show frames from the new ffmpeg",
               browser)
    start = video_state(browser, video("pattern"))
    time.sleep(3)
    end = video_state(browser, video("pattern"))
    assert end["time"] > start["time"] + 1.0 and end["error"] is None, (start, end)


def test_player_reports_an_unplayable_codec(daemon, chromium):
    # Pretend this browser lacks H.264 (as Chromium builds without proprietary codecs do): the user must be told.
    with Chromium(chromium) as other:
        other.send("Page.addScriptToEvaluateOnNewDocument", {
            "source": "MediaSource.isTypeSupported = (type) => !/avc1/.test(type);"}, session=other.session)
        other.goto(daemon.base_url + "/")
        wait_until(lambda: section_attr(other, "pattern", "dataset.player") == "error", 30,
                   "the pattern player to report an error", other)
        note = section_attr(other, "pattern", "querySelector('.note').textContent")
        assert "cannot play H.264" in note and "VLC" in note, note
        style = "getComputedStyle(document.querySelector('section[data-camera=\"pattern\"] .note'))"
        assert other.evaluate(f"{style}.backgroundColor") == "rgb(198, 40, 40)", "errors are shown in red"
        assert other.evaluate(f"{style}.display") != "none"


def test_faces_page_lists_enrols_and_deletes_in_the_browser(daemon, chromium, shared_data):
    """/faces and faces.js in Chromium: the list from /api/faces, an upload through the form, Delete person."""
    people = "(document.getElementById('people') || {}).textContent || ''"
    with Chromium(chromium) as page:
        page.goto(daemon.base_url + "/faces")
        wait_until(lambda: "Obama — 2 photos" in (page.evaluate(people) or ""), 30, "Obama listed with 2 photos",
                   page)
        # The form's file input gets a real photo (DataTransfer: what a user's file picker hands the page).
        photo = base64.b64encode((shared_data / "images" / "biden.jpg").read_bytes()).decode()
        page.evaluate(f"""(() => {{
            const bytes = Uint8Array.from(atob({json.dumps(photo)}), c => c.charCodeAt(0));
            const form = document.getElementById('enroll');
            const files = new DataTransfer();
            files.items.add(new File([bytes], 'biden.jpg', {{type: 'image/jpeg'}}));
            form.elements.images.files = files.files;
            form.elements.name.value = 'Joe Biden';
            form.requestSubmit();
        }})()""")
        message = "document.getElementById('message').textContent"
        wait_until(lambda: page.evaluate(message) == "Added 1 photo(s) of Joe Biden.", 60, "the upload accepted", page)
        wait_until(lambda: "Joe Biden — 1 photo" in page.evaluate(people), 30, "Joe Biden listed", page)
        assert any(p["name"] == "Joe Biden" for p in daemon.get("/api/faces").json()["people"])

        page.evaluate("window.confirm = () => true")  # the page asks before deleting
        page.evaluate("""[...document.querySelectorAll('#people .person')]
            .find(item => item.textContent.startsWith('Joe Biden')).querySelector('button.forget').click()""")
        wait_until(lambda: (page.evaluate(message) or "").startswith("Deleted Joe Biden: 1 file(s)"), 30,
                   "the deletion reported", page)
        wait_until(lambda: "Joe Biden" not in page.evaluate(people), 30, "Joe Biden gone from the list", page)
        assert not any(p["name"] == "Joe Biden" for p in daemon.get("/api/faces").json()["people"])
        assert not [line for line in page.console if "rror" in line], page.console
