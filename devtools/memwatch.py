"""Where the daemon's main process allocates over time: a dev-only debugging aid, not part of the product.

    .venv/bin/python -m devtools.memwatch [--minutes 10] [--interval 60] [--enrol-every 45] [--hup-every 0]
                                          [--no-tracemalloc]

Runs the real daemon *in this process* (its main process, as `facedaemon run` would) with one face camera (the
looped entry clip: Obama comes and goes, so tracks, events and the history are made and dropped) and tracemalloc on
(only here: the recognition worker and the other children are not traced). Every `interval` s it prints the
process's RSS, the memory tracemalloc sees, the source lines whose allocations grew most since the first snapshot
after the warm-up (the first interval), and the object types whose count grew most (gc); glibc's view (mallinfo2)
and the RSS per kind of mapping (/proc/self/smaps: glibc's main heap, its thread arenas, thread stacks, other
anonymous memory, files), with the single mappings that grew most, which tell native growth by where it sits.
`--enrol-every` enrols a new person through the web API (curl: the requests are not this process's allocations)
and forgets the one before, as the chaos soak does; `--hup-every` changes the frame rate of a second camera
(`pattern`, 640x360, as in the chaos soak) and sends SIGHUP: the reload restarts that camera. What only grows, line
after line, is a leak candidate; what settles is a cache or a warm-up. `--no-tracemalloc` leaves tracemalloc off
(its own memory grows the RSS) and prints Python's allocator's arenas instead.
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


ARENA_HEAP = 64 << 20  # glibc's HEAP_MAX_SIZE on 64-bit: a thread arena's heap is a reservation this size, aligned
GUARD = PAGE  # glibc's default guard page under a thread's stack


def mappings(path: str = "/proc/self/smaps") -> list[tuple[int, int, str, str, int]]:
    """(start, end, perms, pathname, Rss KiB) of every mapping."""
    found: list[tuple[int, int, str, str, int]] = []
    head: list[str] = []
    for line in Path(path).read_text().splitlines():
        first = line.split(None, 1)[0]
        if "-" in first and not first.endswith(":"):
            head = line.split(None, 5)
        elif first == "Rss:":
            start, end = (int(part, 16) for part in head[0].split("-"))
            found.append((start, end, head[1], head[5] if len(head) > 5 else "", int(line.split()[1])))
    return found


def kind_of(maps: list[tuple[int, int, str, str, int]], index: int) -> str:
    start, end, perms, name, _ = maps[index]
    before = maps[index - 1] if index else None
    after = maps[index + 1] if index + 1 < len(maps) else None
    if name in ("[heap]", "[stack]"):
        return name
    if name.startswith(("/dev/shm", "/memfd:", "/SYSV")):
        return "shm"
    if name:
        return "file"
    if perms.startswith("---"):
        return "reserved"
    if start % ARENA_HEAP == 0 and (end - start == ARENA_HEAP or (
            after is not None and after[0] == end and after[2].startswith("---") and not after[3]
            and after[1] - start == ARENA_HEAP)):
        return "arena heaps"
    if before is not None and before[1] == start and before[2].startswith("---") and not before[3] \
            and before[1] - before[0] == GUARD:
        return "thread stacks"
    return "other anon"


def grown_mappings(base: list[tuple[int, int, str, str, int]], top: int = 6) -> str:
    """The mappings whose Rss grew most since `base` (by start address): where, how big, what kind."""
    then = {start: rss for start, _, _, _, rss in base}
    maps = mappings()
    grown = sorted(((rss - then.get(start, 0), index) for index, (start, _, _, _, rss) in enumerate(maps)),
                   reverse=True)[:top]
    return "  grown: " + ", ".join(
        f"{maps[i][0]:x} {(maps[i][1] - maps[i][0]) >> 10} KiB {kind_of(maps, i)} {delta / 1024:+.1f}"
        f"{'' if maps[i][0] in then else ' (new)'}" for delta, i in grown if delta > 0)


def classify(maps: list[tuple[int, int, str, str, int]]) -> dict[str, tuple[int, int]]:
    """Rss KiB and the count of mappings per kind: glibc's main heap, its thread arenas' heaps (a 64 MiB aligned
    reservation whose used part is read-write), thread stacks (a read-write anonymous mapping right above a guard
    page), other anonymous memory (mmapped blocks, Python's arenas), shared memory, file-backed (libraries)."""
    kinds: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for index, mapping in enumerate(maps):
        kind = kind_of(maps, index)
        kinds[kind][0] += mapping[4]
        kinds[kind][1] += 1
    return {kind: (rss, count) for kind, (rss, count) in kinds.items()}


def smaps_figures(base: dict[str, tuple[int, int]] | None = None) -> str:
    """RSS per kind of mapping in MiB (and how many mappings), with the change since `base`."""
    kinds = classify(mappings())
    parts = []
    for kind in sorted(set(kinds) | set(base or {})):
        rss, count = kinds.get(kind, (0, 0))
        if base is None:
            parts.append(f"{kind} {rss / 1024:.1f} ({count})")
        else:
            then, then_count = base.get(kind, (0, 0))
            parts.append(f"{kind} {rss / 1024:.1f} ({count}) {(rss - then) / 1024:+.1f}/{count - then_count:+d}")
    return "  maps MiB: " + ", ".join(parts) + f"; threads {threading.active_count()} python, " \
        f"{len(os.listdir('/proc/self/task'))} native"


def pymalloc_figures() -> str:
    """Python's own allocator (objects up to 512 bytes, in 1 MiB arenas it maps itself, not glibc's): arenas
    mapped now and at most, and how much of them holds objects. sys._debugmallocstats writes to C's stderr: fd 2
    goes to a file meanwhile (a log line another thread writes then lands there, not on the terminal)."""
    with tempfile.TemporaryFile("w+") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
            ctypes.CDLL(None).fflush(None)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        figures = {}
        for line in out:
            if line.startswith("# ") and "=" in line:
                key, value = line[2:].split("=", 1)
                figures[key.strip()] = int(value.strip().replace(",", ""))
    get = figures.get
    return (f"  pymalloc: arenas {get('arenas allocated current')} (high {get('arenas highwater mark')}, freed "
            f"{get('arenas reclaimed')}), objects {get('bytes in allocated blocks', 0) / 2**20:.1f} MiB, "
            f"free in pools {get('bytes in available blocks', 0) / 2**20:.1f} MiB")


def type_counts() -> collections.Counter:
    return collections.Counter(type(obj).__name__ for obj in gc.get_objects())


def report(started: float, base: tracemalloc.Snapshot | None, base_types: collections.Counter,
           base_maps: list[tuple[int, int, str, str, int]]) -> None:
    print(f"\n== {time.monotonic() - started:7.0f} s  rss {rss_mib():.1f} MiB", flush=True)
    print(malloc_figures(), flush=True)
    print(smaps_figures(classify(base_maps)), flush=True)
    print(grown_mappings(base_maps), flush=True)
    if base is None:  # --no-tracemalloc: Python's allocator reports itself instead (it cannot while traced)
        print(pymalloc_figures(), flush=True)
        return
    snapshot = tracemalloc.take_snapshot().filter_traces(NOT_OURS)
    traced = sum(stat.size for stat in snapshot.statistics("filename"))
    print(f"  traced {traced / 2**20:.2f} MiB (tracemalloc's own {tracemalloc.get_tracemalloc_memory() / 2**20:.1f}"
          " MiB)", flush=True)
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
    base = tracemalloc.take_snapshot().filter_traces(NOT_OURS) if tracemalloc.is_tracing() else None
    base_types = type_counts()
    base_maps = mappings()
    print(f"== baseline at {time.monotonic() - started:.0f} s, rss {rss_mib():.1f} MiB", flush=True)
    print(malloc_figures(), flush=True)
    if base is None:
        print(pymalloc_figures(), flush=True)
    print(smaps_figures(), flush=True)
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
            report(started, base, base_types, base_maps)
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
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="no tracemalloc (its own memory grows the RSS): Python's allocator reports instead")
    args = parser.parse_args(argv)
    from facedaemon.__main__ import main as facedaemon_main
    from facedaemon.daemon import malloc

    malloc.tune()  # as `facedaemon run` does, but before this tool's own thread: an arena limit binds only then

    with tempfile.TemporaryDirectory(prefix="facedaemon-memwatch-") as tmp:
        folder = Path(tmp)
        clip = make_entry_clip(shared_data(), folder / "entry.mp4", seconds=8.0, fps=args.fps, appear_at=4.0)
        faces = folder / "faces"
        (faces / "Obama").mkdir(parents=True)
        shutil.copyfile(shared_data() / "images" / "obama2.jpg", faces / "Obama" / "obama2.jpg")
        cameras = {"door": {"source": str(clip.path), "loop": True},
                   "pattern": {"source": "pattern", "width": 640, "height": 360, "fps": 15, "recognize": False}}
        config, port = write_config(folder, cameras, faces)
        if not args.no_tracemalloc:
            tracemalloc.start(FRAMES)
        threading.Thread(target=driver, daemon=True, args=(args, f"http://127.0.0.1:{port}", config,
                                                          shared_data() / "known_faces" / "GEM.jpg")).start()
        return facedaemon_main(["run", "--config", str(config)])


if __name__ == "__main__":
    sys.exit(main())
