"""Hot reload with the real daemon: a photo copied into faces_dir (by any tool) names a face without a restart,
and deleting it makes the face Unknown again."""

from __future__ import annotations

import shutil
import time

import pytest

from devtools.daemon import write_config
from tests.e2e.media import gallery, make_people_clip

pytestmark = pytest.mark.e2e


def names(daemon) -> list[str]:
    return [face["name"] for face in daemon.get("/api/cameras/people/faces").json()["faces"]]


def test_faces_dir_changes_are_picked_up_without_restart(tmp_path, shared_data, run_daemon) -> None:
    faces = gallery(shared_data, tmp_path / "faces", obama=(), others=True)  # other people, but not Obama
    clip = make_people_clip(shared_data, tmp_path / "people.mp4")
    config_path, port = write_config(tmp_path, {"people": {"source": str(clip), "loop": True}}, faces)
    daemon = run_daemon.start(tmp_path, config_path, port, ready=None)
    daemon.wait_for(lambda: daemon.get("/healthz").status_code == 200, 120, "/healthz to say ok")
    daemon.wait_for(lambda: "Unknown" in names(daemon), 60, "Obama shown as Unknown")
    pid = daemon.process.pid

    (faces / "Obama").mkdir()
    shutil.copy(shared_data / "images" / "obama2.jpg", faces / "Obama" / "obama2.jpg")
    added = time.monotonic()
    daemon.wait_for(lambda: "Obama" in names(daemon), 3 * 4,
                    "Obama named after his photo was added (docs/performance.md: 2-4 s)")
    print(f"named {time.monotonic() - added:.1f} s after the photo was copied")
    assert "faces changed (1 added (Obama/obama2.jpg))" in daemon.log()

    (faces / "Obama" / "obama2.jpg").unlink()
    removed = time.monotonic()
    daemon.wait_for(lambda: "Obama" not in names(daemon) and "Unknown" in names(daemon), 3 * 3,
                    "Obama Unknown again after his photo was deleted (docs/performance.md: 2-3 s)")
    print(f"Unknown again {time.monotonic() - removed:.1f} s after the photo was deleted")
    assert "1 removed (Obama/obama2.jpg)" in daemon.log()
    assert daemon.process.pid == pid and daemon.process.poll() is None, "no restart"
