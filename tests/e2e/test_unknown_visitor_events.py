"""Unknown visitors on the real daemon, to a real webhook receiver. The visit clip shows Obama (known) the whole time
and Biden (a stranger) from 2 s to 22 s of every 30 s loop: each loop is one visit, long enough to be judged on a
busy machine, where the worker may get to each camera only every few seconds (seen: 6 s with the machine's 2 cores
shared by eight test runs). events.grace_seconds is 8 s here for that reason: the default 2 s, shorter than the gap
between two results, would make every result a new visit; 8 s is still shorter than the 10 s between visits.

- Two cameras show the clip; only `door` is in events.unknown_visitors: Biden's visit there is one "Unknown" event
  with its snapshot, then one "left"; none for Obama, none from `yard` (where Biden does read Unknown), no
  unknown-face crop kept (unknowns.save is off).
- The old key events.include_unknown still works, with one warning naming the file, line and key (in the daemon's
  log and from check-config)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from devtools.webhook import Receiver
from tests.e2e.media import make_visit_clip, obama_gallery

pytestmark = pytest.mark.e2e

JPEG = b"\xff\xd8\xff"
GRACE = 8.0
STRANGER_LEFT_X = 320  # Biden's face is right of the middle of the visit clip, Obama's left of it


class FacePoller:
    """Samples /api/cameras/<camera>/faces in the background: which track was where, under which name."""

    def __init__(self, daemon, cameras: tuple[str, ...]) -> None:
        self.daemon, self.cameras = daemon, cameras
        self.seen: dict[str, list[dict]] = {camera: [] for camera in cameras}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            for camera in self.cameras:
                with contextlib.suppress(OSError, ValueError, KeyError):  # starting up: the next sample counts
                    self.seen[camera] += self.daemon.get(f"/api/cameras/{camera}/faces").json()["faces"]

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)

    def count(self, camera: str, name: str = "Unknown") -> int:
        return sum(face["name"] == name for face in self.seen[camera])

    def lefts(self, camera: str, track: int) -> set[int]:
        return {face["box"][3] for face in self.seen[camera] if face["track"] == track}


def unknowns(receiver: Receiver, camera: str, kind: str = "recognised") -> list[dict]:
    return [body for body in list(receiver.bodies)
            if body["camera"] == camera and body["name"] == "Unknown" and body["event"] == kind]


def test_a_stranger_s_visit_is_one_event_on_the_camera_that_opted_in(tmp_path, shared_data, run_daemon):
    faces = obama_gallery(shared_data, tmp_path / "faces")
    clip = make_visit_clip(shared_data, tmp_path / "visit.mp4")
    receiver = Receiver()
    cameras = {name: {"source": str(clip), "loop": True} for name in ("door", "yard")}
    daemon = run_daemon(tmp_path, cameras, faces, ready=None, timeout=180,
                        events={"unknown_visitors": ["door"], "grace_seconds": GRACE,
                                "webhook": {"url": receiver.url}})
    poller = FacePoller(daemon, ("door", "yard"))
    try:
        left = daemon.wait_for(lambda: unknowns(receiver, "door", "left"), 240, "Biden's visit to end at the door")[0]
    finally:
        poller.stop()
        receiver.close()
        print(f"\nsamples reading Unknown: door {poller.count('door')}, yard {poller.count('yard')}; "
              f"webhook bodies {len(receiver.bodies)}")
    arrivals = [event for event in unknowns(receiver, "door") if event["time"] <= left["time"]]
    assert len(arrivals) == 1, f"one visit, {len(arrivals)} unknown events: {arrivals}"
    arrived = arrivals[0]
    print(f"Biden announced {left['time'] - arrived['time']:.1f} s before he was last seen, track {arrived['track']}"
          f" (left as track {left['track']})")
    for event in unknowns(receiver, "door"):
        where = poller.lefts("door", event["track"])
        assert where and min(where) > STRANGER_LEFT_X, f"an unknown event for a face on Obama's side: {event}"
    assert arrived["device"] and arrived["snapshot"].startswith("/api/snapshots/door/")
    picture = daemon.get(arrived["snapshot"])
    assert picture.status_code == 200 and picture.content.startswith(JPEG)

    named = [body for body in receiver.bodies if body["name"] == "Obama" and body["event"] == "recognised"]
    assert {body["camera"] for body in named} == {"door", "yard"}, "Obama is known on both cameras"
    assert poller.count("yard") > 0, "Biden must read Unknown on yard too"
    assert [body for body in receiver.bodies if body["camera"] == "yard" and body["name"] == "Unknown"] == []
    assert not (faces / ".unknowns").exists(), "no crop of the stranger without unknowns.save"
    assert daemon.log().count("door: Unknown recognised") == len(unknowns(receiver, "door"))


def test_the_old_include_unknown_key_still_reports_strangers_with_one_warning(tmp_path, shared_data, run_daemon):
    faces = obama_gallery(shared_data, tmp_path / "faces")
    clip = make_visit_clip(shared_data, tmp_path / "visit.mp4")
    receiver = Receiver()
    daemon = run_daemon(tmp_path, {"door": {"source": str(clip), "loop": True}}, faces, ready=None, timeout=180,
                        events={"include_unknown": True, "grace_seconds": GRACE, "webhook": {"url": receiver.url}})
    try:
        daemon.wait_for(lambda: unknowns(receiver, "door"), 180, "Biden reported as an unknown visitor")
    finally:
        receiver.close()
    config = daemon.config_path
    line = next(number for number, text in enumerate(config.read_text().splitlines(), 1)
                if text.strip().startswith("include_unknown:"))
    warning = f"{config}:{line}: events.include_unknown: deprecated: read as events.unknown_visitors: [door]"
    warned = [text for text in daemon.log().splitlines() if "events.include_unknown" in text]
    assert len(warned) == 1 and warning in warned[0] and "WARNING" in warned[0], warned

    checked = subprocess.run([sys.executable, "-m", "facedaemon", "check-config", str(config)], capture_output=True,
                             text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert checked.returncode == 0 and checked.stderr.count("events.include_unknown") == 1, checked.stderr
    assert warning in checked.stderr
