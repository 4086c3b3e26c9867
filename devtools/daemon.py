"""Run the real daemon as a subprocess on a free loopback port, and stop exactly what it started: the one
launcher of the tests (tests/e2e/conftest.py's run_daemon), the scripts and the soak."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from devtools import REPO
from devtools.processes import SeenPids, cmdline, descendants, free_port


def bundled_ffmpeg() -> str:
    """The ffmpeg imageio-ffmpeg bundles (a pip dependency, so always there): the suite's (tests/ffmpegs.py)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass
class RunningDaemon:
    process: subprocess.Popen
    base_url: str
    config_path: Path
    runtime_dir: Path
    log_path: Path
    seen_pids: SeenPids = field(default_factory=SeenPids)

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.base_url + path, timeout=10, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, predicate, timeout: float, what: str, interval: float = 0.25):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"daemon exited with {self.process.returncode}:\n{self.log()[-4000:]}"
            self.seen_pids |= descendants(self.process.pid)
            try:
                last = predicate()
                if last:
                    return last
            except (requests.RequestException, ValueError, KeyError, OSError) as exc:
                last = exc
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})\n"
                             f"--- daemon log ---\n{self.log()[-4000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> float:
        """Signal the daemon, wait, return how long it took; kill whatever is left if it overran."""
        self.seen_pids |= descendants(self.process.pid)
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        elapsed = time.monotonic() - started
        return elapsed

    def kill_leftovers(self, grace: float = 2.0) -> list[str]:
        """Kill what is still alive of every process the daemon ever had; return them as 'pid cmdline'."""
        deadline = time.monotonic() + grace
        running = self.seen_pids.still_running
        while any(running(pid) for pid in self.seen_pids) and time.monotonic() < deadline:
            time.sleep(0.1)  # helpers that exit on their parent's EOF (multiprocessing's tracker) need a moment
        left = [pid for pid in self.seen_pids if running(pid)]
        names = [f"{pid} {cmdline(pid)}" for pid in left]
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return names


def write_config(tmp: Path, cameras: dict, faces_dir: Path, **overrides) -> tuple[Path, int]:
    port = free_port()
    config = {
        "faces_dir": str(faces_dir),
        "runtime_dir": str(tmp / "run"),
        "cache_dir": str(tmp / "cache"),
        "state_dir": str(tmp / "state"),  # the visit history: never the user's ~/.local/state
        "log_level": "info",
        "cameras": cameras,
        **overrides,
        "http": {"listen": f"127.0.0.1:{port}", **overrides.get("http", {})},  # more http keys, the port kept
    }
    # The suite's ffmpeg (tests/ffmpegs.py), unless the caller chose one (encoder.ffmpeg: null = the daemon's choice).
    config["encoder"] = {"ffmpeg": bundled_ffmpeg(), **config.get("encoder", {})}
    path = tmp / "facedaemon.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, port


def start_daemon(tmp: Path, config_path: Path, port: int, env: dict[str, str] | None = None) -> RunningDaemon:
    """`env`: extra environment variables for the daemon (e.g. NOTIFY_SOCKET, WATCHDOG_USEC)."""
    log_path = tmp / "daemon.log"
    handle = log_path.open("wb")
    extra = env or {}
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("NOTIFY_SOCKET", None)
    env.update(extra)
    process = subprocess.Popen([sys.executable, "-m", "facedaemon", "run", "--config", str(config_path)],
                               stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO, env=env)
    handle.close()
    runtime_dir = Path(yaml.safe_load(config_path.read_text())["runtime_dir"])
    return RunningDaemon(process, f"http://127.0.0.1:{port}", config_path, runtime_dir, log_path)


def status(daemon: RunningDaemon) -> dict:
    return json.loads((daemon.runtime_dir / "status.json").read_text())


Ready = Callable[[RunningDaemon], object]


def healthy(daemon: RunningDaemon) -> bool:
    return daemon.get("/healthz").status_code == 200


class Daemons:
    """Starts daemons for one test (or module) and stops every one of them, whatever the test did."""

    def __init__(self) -> None:
        self.started: list[RunningDaemon] = []

    def __call__(self, tmp: Path, cameras: dict, faces_dir: Path | None = None, *, env: dict[str, str] | None = None,
                 ready: Ready | None = healthy, timeout: float = 120, **overrides) -> RunningDaemon:
        """Write a config for `cameras` (faces_dir: tmp/faces, made if missing; overrides: more top-level keys),
        start the daemon and wait up to `timeout` s for ready(daemon) (default: /healthz says ok; None: no wait)."""
        faces = faces_dir if faces_dir is not None else tmp / "faces"
        faces.mkdir(parents=True, exist_ok=True)
        config_path, port = write_config(tmp, cameras, faces, **overrides)
        return self.start(tmp, config_path, port, env=env, ready=ready, timeout=timeout)

    def start(self, tmp: Path, config_path: Path, port: int, *, env: dict[str, str] | None = None,
              ready: Ready | None = healthy, timeout: float = 120) -> RunningDaemon:
        """Start the daemon on a config already written (write_config)."""
        daemon = start_daemon(tmp, config_path, port, env=env)
        self.started.append(daemon)
        if ready is not None:
            daemon.wait_for(lambda: ready(daemon), timeout, getattr(ready, "__name__", "the daemon to be ready"))
        return daemon

    def close(self) -> list[str]:
        """Stop every daemon started (SIGTERM, then SIGKILL after 15 s) and kill whatever they left behind."""
        left: list[str] = []
        for daemon in self.started:
            if daemon.process.poll() is None:
                daemon.stop(signal.SIGTERM)
            left += daemon.kill_leftovers()
        self.started.clear()
        return left
