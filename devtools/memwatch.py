"""Where the daemon's main process allocates over time: a dev-only debugging aid, not part of the product.

    .venv/bin/python -m devtools.memwatch [--minutes 10] [--interval 60] [--enrol-every 45] [--hup-every 0]

Runs the real daemon *in this process* (its main process, as `facedaemon run` would) with one face camera (the
looped entry clip: Obama comes and goes, so tracks, events and the history are made and dropped) and tracemalloc on
(only here: the recognition worker and the other children are not traced). Every `interval` s it prints the
process's RSS, the memory tracemalloc sees, the source lines whose allocations grew most since the first snapshot
after the warm-up (the first interval), and the object types whose count grew most (gc). `--enrol-every` enrols a
new person through the web API (curl: the requests are not this process's allocations) and forgets the one before,
as the chaos soak does; `--hup-every` changes the frame rate of a second camera (`pattern`, 640x360, as in the
chaos soak) and sends SIGHUP: the reload restarts that camera. What only grows, line after line,
is a leak candidate; what settles is a cache or a warm-up.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import linecache
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import yaml

from devtools import shared_data
from devtools.daemon import write_config
from facedaemon.bench.clip import make_entry_clip

FRAMES = 4   # traceback depth kept per allocation (deeper costs more on every allocation)
TOP = 12     # lines shown per report
PAGE = os.sysconf("SC_PAGE_SIZE")
NOT_OURS = (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, linecache.__file__),
            tracemalloc.Filter(False, __file__))


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE / 2**20


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                      "fsmblks", "uordblks", "fordblks", "keepcost")]


def malloc_figures() -> str:
    """glibc's view (mallinfo2, glibc 2.33+): in use (a native leak grows it) against free but kept in its arenas
    (fragmentation grows it) and mmapped blocks; '' where glibc has no mallinfo2."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = MallInfo2
    except (OSError, AttributeError):
        return ""
    info = libc.mallinfo2()
    return (f"  malloc: in use {info.uordblks / 2**20:.1f} MiB, free kept {info.fordblks / 2**20:.1f} MiB, "
            f"mmapped {info.hblkhd / 2**20:.1f} MiB in {info.hblks}, arena {info.arena / 2**20:.1f} MiB")


def type_counts() -> collections.Counter:
    return collections.Counter(type(obj).__name__ for obj in gc.get_objects())


def report(started: float, base: tracemalloc.Snapshot, base_types: collections.Counter) -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces(NOT_OURS)
    traced = sum(stat.size for stat in snapshot.statistics("filename"))
    print(f"\n== {time.monotonic() - started:7.0f} s  rss {rss_mib():.1f} MiB  traced {traced / 2**20:.2f} MiB",
          flush=True)
    print(malloc_figures(), flush=True)
    for stat in snapshot.compare_to(base, "lineno")[:TOP]:
        if stat.size_diff:
            frame = stat.traceback[0]
            print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {frame.filename}:{frame.lineno}"
                  f"  {linecache.getline(frame.filename, frame.lineno).strip()[:70]}", flush=True)
    grown = type_counts()
    grown.subtract(base_types)
    print("  objects: " + ", ".join(f"{name} {count:+d}" for name, count in grown.most_common(8) if count > 0),
          flush=True)


def driver(args: argparse.Namespace, base_url: str, config: Path, photo: Path) -> None:
    """Snapshots, enrolments and reloads on their clocks; SIGTERM to this process at the end."""
    started = time.monotonic()
    time.sleep(args.interval)  # the warm-up: models, gallery, the first tracks
    base, base_types = tracemalloc.take_snapshot().filter_traces(NOT_OURS), type_counts()
    print(f"== baseline at {time.monotonic() - started:.0f} s, rss {rss_mib():.1f} MiB", flush=True)
    next_report, next_enrol, next_hup = (time.monotonic() + step for step in
                                         (args.interval, args.enrol_every or 1e12, args.hup_every or 1e12))
    enrolled: list[str] = []
    while time.monotonic() - started < args.minutes * 60:
        now = time.monotonic()
        if now >= next_enrol:
            next_enrol += args.enrol_every
            name = f"Memwatch {len(enrolled) + 1}"
            curl(["-X", "POST", "-F", f"images=@{photo};type=image/jpeg", f"{base_url}/api/faces/{name}"])
            if enrolled:
                curl(["-X", "DELETE", f"{base_url}/api/faces/{enrolled[-1]}"])
            enrolled.append(name)
        if now >= next_hup:
            next_hup += args.hup_every
            settings = yaml.safe_load(config.read_text())
            pattern = settings["cameras"]["pattern"]
            pattern["fps"] = 10 if pattern["fps"] == 15 else 15
            config.write_text(yaml.safe_dump(settings))
            os.kill(os.getpid(), signal.SIGHUP)
        if now >= next_report:
            next_report += args.interval
            report(started, base, base_types)
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def curl(arguments: list[str]) -> None:
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-m", "30", *[a.replace(" ", "%20") if a.startswith("http")
                                                                   else a for a in arguments]],
                   check=False, stdin=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.memwatch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between reports (the first: warm-up)")
    parser.add_argument("--enrol-every", type=float, default=45.0, help="seconds between enrolments (0: none)")
    parser.add_argument("--hup-every", type=float, default=0.0, help="seconds between SIGHUPs (0: none)")
    parser.add_argument("--fps", type=int, default=15)
    args = parser.parse_args(argv)
    from facedaemon.__main__ import main as facedaemon_main

    with tempfile.TemporaryDirectory(prefix="facedaemon-memwatch-") as tmp:
        folder = Path(tmp)
        clip = make_entry_clip(shared_data(), folder / "entry.mp4", seconds=8.0, fps=args.fps, appear_at=4.0)
        faces = folder / "faces"
        (faces / "Obama").mkdir(parents=True)
        shutil.copyfile(shared_data() / "images" / "obama2.jpg", faces / "Obama" / "obama2.jpg")
        cameras = {"door": {"source": str(clip.path), "loop": True},
                   "pattern": {"source": "pattern", "width": 640, "height": 360, "fps": 15, "recognize": False}}
        config, port = write_config(folder, cameras, faces)
        tracemalloc.start(FRAMES)
        threading.Thread(target=driver, daemon=True, args=(args, f"http://127.0.0.1:{port}", config,
                                                          shared_data() / "known_faces" / "GEM.jpg")).start()
        return facedaemon_main(["run", "--config", str(config)])


if __name__ == "__main__":
    sys.exit(main())
