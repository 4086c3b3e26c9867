#!/usr/bin/env python3
"""SIGKILL of the real daemon while it records a visit, N times (default 50): the people clip keeps Obama on screen,
so every run has a visit going on when it is killed (2-5 s after the run's visit first shows in /api/history). After
each kill (and the daemon's orphaned children killed too) the database must pass integrity_check, keep every visit
of the earlier runs, and hold this run's visit; prints how far its last_seen is behind the kill.

  FACEDAEMON_SHARED_DATA=/work/shared/data .venv/bin/python scripts/benchmarks/history_daemon_kills.py [--runs 50]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from devtools.daemon import start_daemon, write_config  # noqa: E402
from devtools.processes import descendants  # noqa: E402
from tests.e2e.media import make_people_clip, obama_gallery  # noqa: E402
from tests.realparts import require_photos  # noqa: E402


def this_run(daemon, started: float) -> list[dict]:
    visits = daemon.get("/api/history", params={"person": "Obama"}).json()["visits"]
    return [v for v in visits if v["first_seen_ts"] >= started]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    shared = require_photos()
    rng = random.Random(50)
    behind: list[float] = []
    with tempfile.TemporaryDirectory(prefix="history-kills-") as tmp_name:
        tmp = Path(tmp_name)
        faces = obama_gallery(shared, tmp / "faces")
        clip = make_people_clip(shared, tmp / "people.mp4")
        db = tmp / "state" / "history.sqlite3"
        kept: set[str] = set()
        for run in range(1, args.runs + 1):
            config_path, port = write_config(tmp, {"people": {"source": str(clip), "loop": True}}, faces)
            daemon = start_daemon(tmp, config_path, port)
            started = time.time()
            daemon.wait_for(lambda d=daemon, t=started: this_run(d, t), 120, "this run's visit")
            time.sleep(rng.uniform(2.0, 5.0))
            daemon.seen_pids |= descendants(daemon.process.pid)
            killed_at = time.time()
            os.kill(daemon.process.pid, signal.SIGKILL)
            daemon.process.wait()
            daemon.kill_leftovers(grace=0.5)
            conn = sqlite3.connect(db)
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            rows = dict(conn.execute("SELECT uid, last_seen FROM visits WHERE person = 'Obama'"))
            mine = [seen for seen in conn.execute("SELECT last_seen FROM visits WHERE person = 'Obama' AND "
                                                  "first_seen >= ?", (started,)).fetchall()]
            conn.close()
            lost = kept - rows.keys()
            if check != "ok" or lost or not mine:
                print(f"run {run}: integrity {check}, lost {sorted(lost)}, this run's visit {mine}")
                return 1
            behind.append(killed_at - max(seen for (seen,) in mine))
            kept = set(rows)
            print(f"run {run}: ok, {len(rows)} visits, this run's last_seen {behind[-1]:.2f} s before the kill",
                  flush=True)
    print(f"{args.runs} × SIGKILL of the daemon: integrity ok every time, no visit of an earlier run lost; the "
          f"running visit's last_seen was {statistics.median(behind):.2f} s (median), {max(behind):.2f} s (max) "
          "before the kill")
    return 0


if __name__ == "__main__":
    sys.exit(main())
