"""Soak: run the real daemon with three cameras and watch its resources; nothing may keep growing.

    scripts/soak [--minutes 30] [--interval 10]
    scripts/soak --chaos [--minutes 30] [--seed 1]   faults all at once (devtools/chaos.py)

Samples the daemon's whole process tree (RSS, open files, threads) and the HLS files on disk. After a warm-up
(the first quarter), the median of the last quarter is compared with the median of the second quarter; growth
above 5 % on any of them fails the run (exit 1).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devtools import shared_data
from devtools.daemon import Daemons
from facedaemon.bench.clip import make_people_clip
from facedaemon.bench.probe import descendants, rss_bytes

LIMIT = 0.05


@dataclass(frozen=True)
class Sample:
    at: float
    rss_mib: float
    open_files: int
    threads: int
    hls_files: int
    processes: int = 1

    FIELDS = ("rss_mib", "open_files", "threads", "hls_files", "processes")


def count_entries(path: Path) -> int:
    try:
        return len(os.listdir(path))
    except OSError:
        return 0


def threads_of(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def sample(root: int, runtime_dir: Path, started: float) -> Sample:
    pids = descendants(root)
    hls = sum(count_entries(folder) for folder in runtime_dir.iterdir() if folder.is_dir())
    return Sample(round(time.monotonic() - started, 1), round(sum(rss_bytes(p) for p in pids) / 2**20, 1),
                  sum(count_entries(Path(f"/proc/{p}/fd")) for p in pids), sum(threads_of(p) for p in pids), hls,
                  len(pids))


def growth(samples: list[Sample]) -> dict[str, float]:
    """Relative change of each figure: median of the last quarter over the median of the second quarter."""
    quarter = max(1, len(samples) // 4)
    early, late = samples[quarter: 2 * quarter], samples[-quarter:]
    result = {}
    for name in Sample.FIELDS:
        before = statistics.median(getattr(s, name) for s in early)
        after = statistics.median(getattr(s, name) for s in late)
        result[name] = (after - before) / before if before else 0.0
    return result


def soak_cameras(folder: Path) -> dict:
    """Two pattern cameras, and a clip naming Obama when the shared photos are there (else a third pattern)."""
    cameras: dict[str, dict] = {
        "pattern720": {"source": "pattern", "width": 1280, "height": 720, "fps": 30},
        "pattern360": {"source": "pattern", "width": 640, "height": 360, "fps": 15, "recognize": False},
    }
    shared = shared_data()
    if (shared / "images" / "obama.jpg").is_file():
        (folder / "faces" / "Obama").mkdir(parents=True)
        shutil.copyfile(shared / "images" / "obama2.jpg", folder / "faces" / "Obama" / "obama2.jpg")
        cameras["people"] = {"source": str(make_people_clip(shared, folder / "people.mp4")), "loop": True}
    else:
        cameras["pattern-extra"] = {"source": "pattern", "width": 1280, "height": 720, "fps": 30}
    return cameras


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--chaos", action="store_true",
                        help="kill and restart the daemon's parts on a seeded schedule meanwhile (devtools/chaos.py)")
    parser.add_argument("--seed", type=int, default=1, help="the chaos schedule's seed (--chaos)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the daemon's, broker's and camera's logs to this folder at the end (--chaos)")
    args = parser.parse_args(argv)
    if args.chaos:
        from devtools import chaos

        try:
            return chaos.run(args.minutes, args.seed, args.interval, args.keep)
        except (chaos.ChaosProblem, AssertionError) as exc:  # a part missing; the daemon died or never got ready
            raise SystemExit(f"soak: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="facedaemon-soak-") as tmp:
        folder = Path(tmp)
        daemons = Daemons()
        try:
            # encoder.ffmpeg null: the daemon picks its ffmpeg as it does for a user.
            daemon = daemons(folder, soak_cameras(folder), encoder={"ffmpeg": None}, timeout=120)
            return report(run(daemon.process, daemon.runtime_dir, args.minutes * 60, args.interval))
        except AssertionError as exc:  # the daemon died or never became healthy: the message holds its log
            raise SystemExit(f"soak: {exc}") from None
        finally:
            daemons.close()


def run(process: subprocess.Popen, runtime_dir: Path, seconds: float, interval: float) -> list[Sample]:
    started = time.monotonic()
    samples: list[Sample] = []
    print("t_s\trss_mib\topen_files\tthreads\thls_files\tprocesses", flush=True)
    while time.monotonic() - started < seconds:
        if process.poll() is not None:
            raise SystemExit(f"soak: the daemon exited with {process.returncode}")
        current = sample(process.pid, runtime_dir, started)
        samples.append(current)
        print("\t".join(str(getattr(current, name)) for name in ("at", *Sample.FIELDS)), flush=True)
        time.sleep(max(0.0, interval - (time.monotonic() - started - current.at)))
    return samples


def report(samples: list[Sample]) -> int:
    if len(samples) < 8:
        print("soak: too few samples to judge growth (run longer or sample more often)")
        return 1
    failed = False
    for name, change in growth(samples).items():
        verdict = "ok" if change <= LIMIT else "GROWS"
        failed |= change > LIMIT
        print(f"soak: {name:<10} {change * 100:+6.1f} % after warm-up (limit +{LIMIT * 100:.0f} %)  {verdict}")
    print(f"soak: {'FAILED' if failed else 'passed'} over {samples[-1].at / 60:.1f} min, {len(samples)} samples")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
