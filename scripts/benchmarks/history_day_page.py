#!/usr/bin/env python3
"""The history's day page over HTTP on a generated year: 365 days × N visits a day (default 10,000) over 4 cameras,
70 % of 50 known people and 30 % strangers, then R requests (default 200) of one camera's day from the real gunicorn
(the page's own call: /api/history?camera=..&from=..&to=..&limit=100), for random days. Prints p50/p95/max.

  .venv/bin/python scripts/benchmarks/history_day_page.py [--per-day 10000] [--days 365] [--requests 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from devtools.web_server import web_server  # noqa: E402
from facedaemon.history import store  # noqa: E402

CAMERAS = ("door", "yard", "garage", "hall")
START = 1_764_547_200.0  # 2025-12-01T00:00:00Z


def generate(path: Path, days: int, per_day: int) -> None:
    conn = store.connect_rw(path)
    rng = random.Random(24)
    people = [f"Person{i:02d}" for i in range(50)]
    n = 0
    for day in range(days):
        rows = []
        for _ in range(per_day):
            n += 1
            first = START + day * 86400 + rng.random() * 86400
            person = rng.choice(people) if rng.random() < 0.7 else None
            rows.append((f"gen-{n}", person, rng.choice(CAMERAS), "bench", first, first + rng.uniform(2, 300),
                         rng.uniform(0.5, 4), rng.uniform(0.4, 1.0)))
        with store.transaction(conn):
            conn.executemany("INSERT INTO visits (uid, person, camera, device, first_seen, last_seen, quality, "
                             "confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("ANALYZE")
    store.checkpoint(conn)
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-day", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        folder = Path(tmp)
        path = folder / "state" / "history.sqlite3"
        started = time.monotonic()
        generate(path, args.days, args.per_day)
        size = path.stat().st_size
        print(f"generated {args.days * args.per_day:,} visits in {time.monotonic() - started:.0f} s, "
              f"{size / 1e6:.0f} MB")
        rng = random.Random(7)
        with web_server(folder, state_dir=str(folder / "state")) as web:
            web.request("GET", "/api/history?limit=1")  # the worker's first request imports and opens
            times, counts = [], []
            for _ in range(args.requests):
                day = START + rng.randrange(args.days) * 86400
                query = f"/api/history?camera={rng.choice(CAMERAS)}&from={day:.0f}&to={day + 86400:.0f}&limit=100"
                began = time.perf_counter()
                answer = web.request("GET", query)
                times.append((time.perf_counter() - began) * 1000)
                assert answer.status_code == 200, answer.text
                counts.append(len(answer.json()["visits"]))
        times.sort()
        p95 = times[int(0.95 * len(times)) - 1]
        print(f"{args.requests} day pages ({statistics.mean(counts):.0f} visits each): p50 "
              f"{statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
