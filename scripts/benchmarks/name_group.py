#!/usr/bin/env python3
""""This is …" on a group of unknown faces → that person's name on the stream, with the stranger in view the whole
time: how long from the POST that names the group to the name on /api/cameras/<camera>/faces.

Starts the real daemon (unknown crops kept) on one of two looped 720p clips with Obama (known) walking:

- `visits` (default; tests/e2e/media.py make_visits_then_stay): Biden (a stranger) comes twice for 2.5 s, then
  stays 13.5 s of each 24 s loop. Once his group holds --crops crops, the next time he has been in view for 3.5 s
  without a break (only the stay lasts that long, so ~10 s of it are left) his group is named.
- `stay` (make_stranger_clip): Biden on screen in every frame, one track, one crop; named once grouped.

The group is named "Joe Biden" over HTTP and the faces API polled every 50 ms until it shows him by name; a run
where he was out of view before that is marked. A fresh daemon per run; each run is printed with its parts (the
POST itself: the enrolment checks of his crops in the web worker; the worker's gallery reload, from its log; the
name), then the median. Loopback only.

    FACEDAEMON_SHARED_DATA=../shared/data nice -n 10 .venv/bin/python scripts/benchmarks/name_group.py --runs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from devtools.daemon import RunningDaemon, start_daemon, write_config  # noqa: E402
from tests.e2e.media import make_stranger_clip, make_visits_then_stay, obama_gallery  # noqa: E402

SHARED = Path(os.environ.get("FACEDAEMON_SHARED_DATA", REPO.parent / "shared" / "data"))
CAMERA = "stay"
NAME = "Joe Biden"


STAY_SIGN = 3.5  # seconds in view without a break: the visits clip's stay (its visits last 2.5 s)


def names(daemon: RunningDaemon) -> list[str]:
    return [face["name"] for face in daemon.get(f"/api/cameras/{CAMERA}/faces").json()["faces"]]


def in_view(shown: list[str]) -> bool:
    """Biden's face is listed, by any label (Obama is always there)."""
    return any(name != "Obama" for name in shown)


def wait_for_stay(daemon: RunningDaemon) -> None:
    """Until Biden has been listed STAY_SIGN s without a break (faces are polled every 0.1 s)."""
    since = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = time.monotonic()
        since = (since or now) if in_view(names(daemon)) else None
        if since is not None and now - since >= STAY_SIGN:
            return
        time.sleep(0.1)
    raise AssertionError("Biden never stayed in view")


def one_run(tmp: Path, clip: Path, crops: int) -> dict:
    faces = obama_gallery(SHARED, tmp / "faces")
    config_path, port = write_config(tmp, {CAMERA: {"source": str(clip), "loop": True}}, faces,
                                     unknowns={"save": True, "retention": "1h"})
    daemon = start_daemon(tmp, config_path, port)
    try:
        daemon.wait_for(lambda: daemon.get("/healthz").status_code == 200, 120, "/healthz to say ok")
        group = daemon.wait_for(lambda: [g for g in daemon.get("/api/unknowns/groups").json()["groups"]
                                         if g["size"] >= crops], 180, f"{crops} crops of Biden grouped",
                                interval=0.2)[0]
        if crops > 1:
            wait_for_stay(daemon)
        else:
            daemon.wait_for(lambda: "Unknown" in names(daemon), 60, "Biden read Unknown", interval=0.1)
        reloads = daemon.log().count("ready, 2 people")
        sent = time.monotonic()
        answer = requests.post(f"{daemon.base_url}/api/unknowns/groups/{group['id']}/name", json={"name": NAME},
                               timeout=60)
        answered = time.monotonic()
        assert answer.status_code == 201, answer.text
        reloaded, away = None, False
        while time.monotonic() - sent < 60:
            if reloaded is None and daemon.log().count("ready, 2 people") > reloads:
                reloaded = time.monotonic()
            shown = names(daemon)
            if NAME in shown:
                break
            away |= not in_view(shown)
            time.sleep(0.05)
        else:
            raise AssertionError(f"{NAME} not named within 60 s:\n{daemon.log()[-3000:]}")
        named = time.monotonic()
        return {"named": named - sent, "post": answered - sent,
                "reload": (reloaded or named) - sent, "photos": len(answer.json()["added"]), "away": away,
                "crops": group["size"]}
    finally:
        daemon.stop()
        daemon.kill_leftovers()


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clip", choices=("visits", "stay"), default="visits")
    parser.add_argument("--crops", type=int, default=3, help="crops in his group before it is named (visits)")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                            check=False).stdout.strip()
    print(f"clip {args.clip}; commit {commit}; before: {uptime()}")
    runs = []
    with tempfile.TemporaryDirectory(prefix="name-group-") as top:
        if args.clip == "stay":
            clip, crops = make_stranger_clip(SHARED, Path(top) / "stay.mp4").path, 1
        else:
            clip, crops = make_visits_then_stay(SHARED, Path(top) / "visits.mp4"), args.crops
        for index in range(args.runs):
            run = one_run(Path(top) / f"run{index}", clip, crops)
            runs.append(run)
            print(f"run {index + 1}: named {run['named']:.2f} s after the POST (a group of {run['crops']} crops; "
                  f"the POST answered in {run['post']:.2f} s, {run['photos']} photos enrolled; the worker's gallery "
                  f"reloaded at {run['reload']:.2f} s){'; HE WAS OUT OF VIEW' if run['away'] else ''}", flush=True)
    every = ", ".join(f"{r['named']:.2f}" for r in runs)
    print(f"median: named {statistics.median(r['named'] for r in runs):.2f} s after the POST (runs: {every})")
    print(f"after: {uptime()}")


if __name__ == "__main__":
    main()
