"""Soak: run the real daemon with three cameras and watch its resources; nothing may keep growing.

    scripts/soak [--minutes 30] [--interval 10]
    scripts/soak --chaos [--minutes 30] [--seed 1]   faults all at once (devtools/chaos.py)

Samples the daemon's whole process tree (RSS, open files, threads) and the HLS files on disk, and the RSS of each
part of the tree (`PARTS`: the main process, the recognition worker, gunicorn, the ffmpegs, the RTSP sidecar). After
a warm-up (the first quarter), the median of the last quarter is compared with the median of the second quarter;
growth above 5 % on any tree-wide figure fails the run (exit 1).
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
from dataclasses import dataclass, field
from pathlib import Path

from devtools import shared_data
from devtools.daemon import Daemons
from facedaemon.bench.clip import make_people_clip
from facedaemon.bench.probe import descendants, rss_bytes

LIMIT = 0.05
# The parts of the daemon's tree whose RSS is sampled one by one: the sum over the tree mixes the main process (it
# lives as long as the device) with children the chaos soak kills and restarts, whose RSS depends on their age.
PARTS = ("main", "worker", "web_master", "web_workers", "encoders", "decoders", "rtsp_sidecar", "camera_server",
         "other")


@dataclass(frozen=True)
class Sample:
    at: float
    rss_mib: float
    open_files: int
    threads: int
    hls_files: int
    processes: int = 1
    parts: dict[str, float] = field(default_factory=dict, compare=False)  # part -> RSS MiB (absent: no process)
    part_pids: dict[str, frozenset[int]] = field(default_factory=dict, compare=False)  # part -> its pids

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


def parent_of(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        return int(text[text.rindex(")") + 2:].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def part_of(pid: int, root: int, parent: int, line: str) -> str:
    """Which of PARTS a process of the daemon's tree is, from its command line (and parent, for gunicorn)."""
    if pid == root:
        return "main"
    if "gunicorn" in line:
        return "web_master" if parent == root else "web_workers"
    if "resource_tracker" in line:  # multiprocessing's, started with the first worker and never restarted
        return "other"
    if "multiprocessing" in line:  # the recognition worker (spawned)
        return "worker"
    if "sidecar_gst" in line:
        return "rtsp_sidecar"
    if "rtsp_camera" in line:
        return "camera_server"
    if "ffmpeg" in line:
        return "encoders" if "index.m3u8" in line else "decoders"
    return "other"


def sample(root: int, runtime_dir: Path, started: float) -> Sample:
    pids = descendants(root)
    hls = sum(count_entries(folder) for folder in runtime_dir.iterdir() if folder.is_dir())
    rss = {pid: rss_bytes(pid) for pid in pids}
    parts: dict[str, float] = {}
    part_pids: dict[str, set[int]] = {}
    for pid in pids:
        if rss[pid] or pid == root:  # 0: gone between the listing and the read
            part = part_of(pid, root, parent_of(pid), command_line(pid))
            parts[part] = parts.get(part, 0.0) + rss[pid] / 2**20
            part_pids.setdefault(part, set()).add(pid)
    return Sample(round(time.monotonic() - started, 1), round(sum(rss.values()) / 2**20, 1),
                  sum(count_entries(Path(f"/proc/{p}/fd")) for p in pids), sum(threads_of(p) for p in pids), hls,
                  len(pids), {part: round(mib, 1) for part, mib in parts.items()},
                  {part: frozenset(found) for part, found in part_pids.items()})


def part_growth(samples: list[Sample]) -> dict[str, tuple[float, bool]]:
    """Per part, as growth() does for the tree (over the samples where the part had a process): (change, whether
    the same processes lived through the whole comparison, i.e. the part was never restarted from the second
    quarter on). Only such a part's change says something about a leak: a restarted one starts small again."""
    quarter = max(1, len(samples) // 4)
    judged = samples[quarter:]
    early, late = samples[quarter: 2 * quarter], samples[-quarter:]
    result = {}
    for part in PARTS:
        before = [s.parts[part] for s in early if part in s.parts]
        after = [s.parts[part] for s in late if part in s.parts]
        if not before or not after:
            continue
        change = (statistics.median(after) - statistics.median(before)) / statistics.median(before)
        lives = {s.part_pids.get(part, frozenset()) for s in judged}
        result[part] = (change, len(lives) == 1)
    return result


def part_columns(current: Sample) -> str:
    """The sample's per-part RSS as tab-separated columns in PARTS order (empty: no such process then)."""
    return "\t".join(str(current.parts.get(part, "")) for part in PARTS)


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
