"""CPU time and resident memory of a process tree, read from /proc (the worker and ffmpeg count too)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    return text[text.rindex(")") + 2:].split()


def descendants(root: int) -> list[int]:
    """root and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def command_name(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return "?"


def cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_bytes(pid: int) -> int:
    try:
        return int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class TreeSample:
    wall: float  # time.monotonic()
    cpu: dict[int, float]  # pid → CPU seconds so far
    rss: int  # bytes, summed over the tree
    names: dict[int, str] = field(default_factory=dict)  # pid → command name


def sample_tree(root: int) -> TreeSample:
    pids = descendants(root)
    return TreeSample(time.monotonic(), {pid: cpu_seconds(pid) for pid in pids}, sum(rss_bytes(p) for p in pids),
                      {pid: command_name(pid) for pid in pids})


def cpu_between(first: TreeSample, last: TreeSample) -> float:
    """CPU seconds the tree used between two samples (a process born in between counts from zero)."""
    return sum(cpu - first.cpu.get(pid, 0.0) for pid, cpu in last.cpu.items())


@dataclass
class TreeSampler:
    """Samples the tree every `interval` seconds in a thread; RSS samples are kept for the growth figure."""

    root: int = field(default_factory=os.getpid)
    interval: float = 1.0
    samples: list[TreeSample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.samples.append(sample_tree(self.root))
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.samples.append(sample_tree(self.root))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(sample_tree(self.root))

    def cpu_cores(self) -> float:
        """Average cores used over the sampled span."""
        first, last = self.samples[0], self.samples[-1]
        span = last.wall - first.wall
        return cpu_between(first, last) / span if span > 0 else 0.0

    def cpu_by_role(self) -> dict[str, float]:
        """Average cores per role: this process, the recognition worker, ffmpeg, anything else."""
        first, last = self.samples[0], self.samples[-1]
        span = max(1e-9, last.wall - first.wall)
        roles: dict[str, float] = {"main": 0.0, "worker": 0.0, "ffmpeg": 0.0}
        for pid, cpu in last.cpu.items():
            role = "main" if pid == self.root else _role(last.names.get(pid, ""))
            roles[role] = roles.get(role, 0.0) + (cpu - first.cpu.get(pid, 0.0)) / span
        return roles

    def rss_series(self) -> list[int]:
        return [s.rss for s in self.samples]


def _role(name: str) -> str:
    if name.startswith("ffmpeg"):
        return "ffmpeg"
    return "worker" if name.startswith(("python", "facedaemon")) else "other"
