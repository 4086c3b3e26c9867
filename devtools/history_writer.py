"""A stand-in daemon for the history's crash and cost measurements: the real visit tracker and writer thread,
fed `rate` new visitors a second (each seen for `stay` seconds), printing "<uid> <last_seen>" once a visit's update
is handed to the writer. tests/integration/test_history_store.py kills it with SIGKILL;
scripts/benchmarks/history_cost measures its CPU.

    python -m devtools.history_writer DB [--rate 1] [--stay 3] [--seconds 0 (forever)]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from facedaemon.history.visits import Seen, Thumb, Upsert, VisitTracker
from facedaemon.history.writer import HistoryWriter, WriterSettings

THUMB = b"\xff\xd8" + bytes(3000) + b"\xff\xd9"  # about the size of a 96 px JPEG


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--rate", type=float, default=1.0, help="new visitors a second")
    parser.add_argument("--stay", type=float, default=3.0, help="seconds each visitor stays")
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: until killed)")
    parser.add_argument("--fps", type=float, default=5.0, help="results a second")
    args = parser.parse_args(argv)
    writer = HistoryWriter(args.db, WriterSettings(True, 30 * 86400.0, 86400.0, 200 * 1024 * 1024))
    writer.start()
    tracker = VisitTracker("bench", grace=1.0, run=str(int(time.time())))
    start = time.monotonic()
    arrivals: list[tuple[float, int]] = []  # (monotonic arrival, person number)
    person = 0
    while args.seconds <= 0 or time.monotonic() - start < args.seconds:
        now = time.monotonic()
        while (person + 1) / args.rate <= now - start:
            person += 1
            arrivals.append((now, person))
            tracker.shot(Thumb("door", person, 1.0, THUMB))
        arrivals = [(t, p) for t, p in arrivals if now - t < args.stay]
        faces = [Seen(f"person{p}", p, 0.8) for _, p in arrivals]
        ops = tracker.see("door", faces, time.time(), now)
        for p in {p for _, p in arrivals}:
            tracker.shot(Thumb("door", p, 1.0, THUMB))
        writer.put(ops)
        for op in ops:
            if isinstance(op, Upsert):
                sys.stdout.write(f"{op.row.uid} {op.row.last_seen:.3f}\n")
        sys.stdout.flush()
        time.sleep(max(0.0, 1 / args.fps - (time.monotonic() - now)))
    writer.put(tracker.close_all())
    writer.stop(5.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
