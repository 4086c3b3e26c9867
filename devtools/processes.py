"""Processes seen from /proc, free loopback ports, and stopping a helper process: shared by every runner here."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every live process below pid (from /proc), so a test can prove none is left behind."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot, /proc/PID/stat field 22); None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


class SeenPids(set):
    """Pids seen below a process, each with its start time. In an hour of faults the kernel hands a dead child's
    pid to an unrelated process (another engineer's run): that one is no leftover, and must never be killed."""

    def __init__(self, pids: set[int] = frozenset()) -> None:
        super().__init__()
        self.born: dict[int, int | None] = {}
        self |= pids

    def __ior__(self, pids):  # seen as a descendant now: its current start time is the one that counts
        for pid in pids:
            self.born[pid] = start_time(pid)
        super().__ior__(set(pids))
        return self

    def still_running(self, pid: int) -> bool:
        """Alive, and still the process that was seen (not a later one given the same pid)."""
        born = self.born.get(pid)
        return born is not None and alive(pid) and start_time(pid) == born


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024


def stop_process(process: subprocess.Popen | None, timeout: float = 20.0, sig: int = signal.SIGTERM) -> None:
    """Ask a helper process to stop, wait up to `timeout` s, then kill it; always reaped. None or gone: nothing."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, where python3-gi and GStreamer's RTSP server live


def system_python_problem(script: Path) -> str | None:
    """Why `script --probe` fails under the system python (e.g. GStreamer missing), or None when it runs."""
    try:
        probe = subprocess.run([SYSTEM_PYTHON, "-I", str(script), "--probe"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{SYSTEM_PYTHON} cannot run: {exc}"
    return None if probe.returncode == 0 else probe.stderr.decode(errors="replace").strip()
