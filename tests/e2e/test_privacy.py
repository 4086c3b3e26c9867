"""privacy.blur_unknown on the real daemon: the stranger's face has no detail left in the HLS stream; off again live."""

from __future__ import annotations

import re
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.e2e.daemon import start_daemon, status, write_config
from tests.e2e.media import decode_video, make_people_clip

pytestmark = pytest.mark.e2e

GREY = 0x50  # the clip's background (color=c=0x505050)


def newest_segments(daemon, after: str | None, count: int, tmp: Path, name: str) -> tuple[Path, str]:
    """init + `count` segments published after `after`, as one playable file; returns it and the last segment."""
    def fresh():
        text = daemon.get("/hls/people/index.m3u8").text
        init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', text)
        segments = [line for line in text.splitlines() if line and not line.startswith("#")]
        if after is None:  # from the live edge
            return (init.group(1), segments[-count:]) if init and len(segments) >= count else None
        newer = segments[segments.index(after) + 1:] if after in segments else []
        return (init.group(1), newer[:count]) if init and len(newer) >= count else None

    init, segments = daemon.wait_for(fresh, 60, f"{count} new HLS segments")
    out = tmp / name
    with out.open("wb") as handle:
        for part in (init, *segments):
            handle.write(daemon.get(f"/hls/people/{part}").content)
    return out, segments[-1]


def detail_when_present(video: Path, box: list[int]) -> list[float]:
    """Laplacian variance of the inner face area, on the frames where someone is there (not the grey background)."""
    import cv2

    top, right, bottom, left = box
    pad_y, pad_x = (bottom - top) // 6, (right - left) // 6  # keep clear of the drawn box lines
    found = []
    for frame in decode_video(video):
        region = frame[top + pad_y:bottom - pad_y, left + pad_x:right - pad_x]
        if np.abs(region.astype(np.int16) - GREY).mean() > 20:
            found.append(float(cv2.Laplacian(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()))
    return found


# Not yet reliable: in runs so far the worker rarely boxed Biden during his 2 s (see the report); the blur itself is
# unit-tested in tests/unit/test_blur.py. Non-strict so a pass shows up as XPASS.
@pytest.mark.xfail(strict=False, reason="Biden is detected on too few frames of the people clip to compare detail")
def test_unknown_faces_are_blurred_in_the_stream_and_the_switch_applies_live(tmp_path, shared_data):
    faces = tmp_path / "faces"
    (faces / "Obama").mkdir(parents=True)
    shutil.copy(shared_data / "images" / "obama2.jpg", faces / "Obama" / "obama2.jpg")
    clip = make_people_clip(shared_data, tmp_path / "people.mp4")  # Biden (unknown) 2 s of every 6, standing still
    config_path, port = write_config(tmp_path, {"people": {"source": str(clip), "loop": True}}, faces,
                                     privacy={"blur_unknown": True}, events={"log": False},
                                     hls={"playlist_size": 12})  # room for a whole loop after a marker
    daemon = start_daemon(tmp_path, config_path, port)
    try:
        def unknown_box():
            found = [f["box"] for f in status(daemon)["cameras"]["people"]["faces"] if f["name"] == "Unknown"]
            return found[0] if found else None

        box = daemon.wait_for(unknown_box, 180, "the unknown face in status.json")
        blurred, last = newest_segments(daemon, None, 1, tmp_path, "skip.mp4")
        blurred, last = newest_segments(daemon, last, 6, tmp_path, "blurred.mp4")  # one whole 6 s loop

        config = yaml.safe_load(config_path.read_text())
        config["privacy"]["blur_unknown"] = False
        config_path.write_text(yaml.safe_dump(config))
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_for(lambda: "apply privacy live" in daemon.log(), 30, "the reload to apply privacy")
        sharp, _ = newest_segments(daemon, last, 6, tmp_path, "sharp.mp4")

        on, off = detail_when_present(blurred, box), detail_when_present(sharp, box)
        assert len(on) >= 20 and len(off) >= 20, (len(on), len(off))  # Biden on ~60 frames of each loop
        on_median, off_median = float(np.median(on)), float(np.median(off))
        assert on_median < off_median / 5, f"detail with blur {on_median:.1f}, without {off_median:.1f}"
    finally:
        daemon.stop()
        leftovers = daemon.kill_leftovers()
    assert not leftovers
