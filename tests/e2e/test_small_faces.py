"""The real daemon with its default config on a 1080p camera that sees a known person's face 40 px tall (a door
camera a few metres away) next to a stranger's: the faces API names the person, and never names the stranger."""

from __future__ import annotations

import time

import pytest

from facedaemon.bench.range_clip import make_range_clip
from facedaemon.bench.range_measure import inside
from tests.e2e.media import obama_gallery

pytestmark = pytest.mark.e2e


def test_a_40_px_face_in_1080p_is_named_with_the_default_config(tmp_path, shared_data, run_daemon) -> None:
    faces = obama_gallery(shared_data, tmp_path / "faces")
    clip = make_range_clip(shared_data, tmp_path / "door.mp4", 1920, 1080, [40], show_s=8.0, gap_s=1.0)
    # run_daemon stops it and kills what it left behind, whatever the test did.
    daemon = run_daemon(tmp_path, {"door": {"source": clip.path, "loop": True}}, faces, timeout=90)
    # The sampling window measures naming, not start-up: on a busy machine loading dlib takes tens of seconds.
    daemon.wait_for(lambda: "recognition: ready" in daemon.log(), 120, "the recognition worker ready")
    samples = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        samples.append(daemon.get("/api/cameras/door/faces").json()["faces"])
        time.sleep(0.2)
    named = [face for sample in samples for face in sample if face["name"] == "Obama"]
    assert len(named) >= len(samples) // 3, f"Obama named in {len(named)} of {len(samples)} samples"
    _, _, stranger = clip.truth(clip.segments[0].start)
    for face in named:
        height = face["box"][2] - face["box"][0]
        assert 28 <= height <= 56, face  # the small face itself, not something else
        assert not inside(tuple(face["box"]), stranger), face
    others = {face["name"] for sample in samples for face in sample} - {"Obama"}
    assert others <= {"Unknown", "face"}, others
    assert "Traceback" not in daemon.log()
