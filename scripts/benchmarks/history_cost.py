#!/usr/bin/env python3
"""What recording visits costs: devtools/history_writer.py (the daemon's visit tracker and writer thread, fed
results at --fps like the recognition worker's, a new visitor every 1/--rate s staying --stay s, each with a
thumbnail) runs for --seconds; its CPU time (utime + stime from /proc) is read after a warm-up and at the end.
Also the database's size per visit.

  .venv/bin/python scripts/benchmarks/history_cost.py [--rate 1] [--seconds 60] [--kills 0]

--kills N instead SIGKILLs the writer N times mid-write (1.5-3 s after its first visit) and checks after each that
the database opens clean (integrity_check) with every update handed to the writer more than 1 s before the kill.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def writer(db: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "devtools.history_writer", str(db), *args], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)


def cost(db: Path, rate: float, seconds: float) -> None:
    process = writer(db, "--rate", str(rate), "--stay", "5", "--fps", "5", "--seconds", str(seconds + 15))
    process.stdout.readline()
    time.sleep(10)  # warm-up: imports done, the first visits in
    cpu0, wall0 = cpu_seconds(process.pid), time.monotonic()
    time.sleep(seconds)
    cpu1, wall1 = cpu_seconds(process.pid), time.monotonic()
    process.communicate(timeout=60)
    share = (cpu1 - cpu0) / (wall1 - wall0) * 100
    conn = sqlite3.connect(db)
    visits = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
    conn.close()
    size = sum(p.stat().st_size for p in db.parent.glob("history.sqlite3*"))
    print(f"{rate:g} visit/s for {wall1 - wall0:.0f} s: {share:.2f} % of one core (the stand-in process, "
          f"tracker at 5 results/s included); {visits} visits, {size / max(visits, 1) / 1024:.1f} KiB each on disk "
          f"(with a 3 KB thumbnail)")


def kills(db: Path, count: int) -> None:
    rng = random.Random(50)
    for round_ in range(count):
        process = writer(db, "--rate", "5", "--stay", "2")
        first = process.stdout.readline()
        time.sleep(rng.uniform(1.5, 3.0))
        killed_at = time.time()
        os.kill(process.pid, signal.SIGKILL)
        printed = first + process.communicate(timeout=30)[0]
        due: dict[str, float] = {}
        for line in printed.splitlines():
            uid, seen = line.split()
            if float(seen) < killed_at - 1.0:
                due[uid] = max(due.get(uid, 0.0), float(seen))
        conn = sqlite3.connect(db)
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        stored = dict(conn.execute("SELECT uid, last_seen FROM visits"))
        conn.close()
        lost = [uid for uid, seen in due.items() if stored.get(uid, 0.0) < seen - 0.001]
        if check != "ok" or lost:
            print(f"kill {round_ + 1}: integrity {check}, lost {lost}")
            sys.exit(1)
    conn = sqlite3.connect(db)
    total = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
    print(f"{count} × SIGKILL while writing: the database opened clean every time; every update handed over more "
          f"than 1 s before the kill was there ({total} visits in the end)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--kills", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-cost-") as tmp:
        db = Path(tmp) / "history.sqlite3"
        if args.kills:
            kills(db, args.kills)
        else:
            cost(db, args.rate, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
