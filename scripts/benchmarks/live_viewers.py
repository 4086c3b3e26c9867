#!/usr/bin/env python3
"""Viewers on the live path of one 720p30 camera: does each get every frame, and what does a viewer cost?

Starts the real daemon (one pattern camera, 1280x720 at 30 fps, no recognition), measures the CPU of the daemon
and all its children (ffmpeg, gunicorn) for --seconds with no viewer, then with --viewers readers of
/live/pattern (plain HTTP clients in this process, not counted), and prints the CPU added per viewer and each
viewer's frame rate against the camera's. Loopback only.

    .venv/bin/python scripts/benchmarks/live_viewers.py --viewers 10 --seconds 20
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from devtools.daemon import start_daemon, write_config  # noqa: E402
from devtools.processes import descendants  # noqa: E402
from facedaemon.outputs.live.boxes import FragmentSplitter  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: set[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def cpu_percent(root: int, seconds: float) -> float:
    pids = {root, *descendants(root)}
    before, started = cpu_seconds(pids), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pids) - before) / (time.monotonic() - started)


class Viewer(threading.Thread):
    """Reads /live/pattern and notes when each fragment completed."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.times: list[float] = []
        self.stop = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        splitter = FragmentSplitter()
        try:
            with requests.get(self.url, stream=True, timeout=10) as response:
                response.raise_for_status()
                for chunk in response.iter_content(None):
                    now = time.monotonic()
                    self.times += [now for piece in splitter.feed(chunk) if piece.kind == "fragment"]
                    if self.stop.is_set():
                        return
        except (requests.RequestException, OSError) as exc:
            self.error = str(exc)

    def rate(self, start: float, end: float) -> float:
        return sum(1 for t in self.times if start <= t < end) / (end - start)


def counters(base_url: str) -> tuple[float, float]:
    """Frames the camera wrote to ffmpeg, frames viewers did not get (metrics.prom is rewritten every second)."""
    text = requests.get(base_url + "/metrics", timeout=10).text
    output = re.search(r'^facedaemon_frames_output_total{camera="pattern"} (\S+)$', text, re.M)
    dropped = re.search(r'^facedaemon_viewer_frames_dropped_total{camera="pattern",path="live"} (\S+)$', text, re.M)
    return (float(output[1]) if output else float("nan"), float(dropped[1]) if dropped else float("nan"))


def camera_rate(base_url: str, seconds: float) -> float:
    before, started = counters(base_url)[0], time.monotonic()
    time.sleep(seconds)
    return (counters(base_url)[0] - before) / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0, help="each measurement (default 20)")
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="live-viewers-") as tmp:
        work = Path(tmp)
        (work / "faces").mkdir()
        cameras = {"pattern": {"source": "pattern", "width": 1280, "height": 720, "fps": 30, "recognize": False}}
        config_path, port = write_config(work, cameras, work / "faces")
        daemon = start_daemon(work, config_path, port)
        try:
            daemon.wait_for(lambda: daemon.get("/healthz").status_code == 200, 120, "/healthz to say ok")
            time.sleep(args.warmup)
            idle = cpu_percent(daemon.process.pid, args.seconds)
            fps_idle = camera_rate(daemon.base_url, 5.0)
            viewers = [Viewer(daemon.base_url + "/live/pattern") for _ in range(args.viewers)]
            for viewer in viewers:
                viewer.start()
            time.sleep(3.0)  # joined, past the first GOP
            output_before, drops_before = counters(daemon.base_url)
            start = time.monotonic()
            watched = cpu_percent(daemon.process.pid, args.seconds)
            end = time.monotonic()
            output_after, drops_after = counters(daemon.base_url)
            fps_watched = (output_after - output_before) / (end - start)  # metrics lag ~1 s at both ends alike
            drops = drops_after - drops_before
            for viewer in viewers:
                viewer.stop.set()
        finally:
            daemon.stop()
            daemon.kill_leftovers()
    rates = [viewer.rate(start, end) for viewer in viewers]
    errors = [viewer.error for viewer in viewers if viewer.error]
    full = sum(1 for rate in rates if rate >= 0.95 * fps_watched)
    print(f"live viewers of one 1280x720@30 pattern camera, {args.seconds:g} s each, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  CPU of daemon + ffmpeg + gunicorn: {idle:.1f} % of one core with no viewer, {watched:.1f} % with "
          f"{args.viewers}: {(watched - idle) / args.viewers:.2f} % per viewer")
    print(f"  camera output {fps_idle:.1f} fps without viewers (5 s), {fps_watched:.1f} fps with them")
    print(f"  viewers' frame rates: min {min(rates):.1f}, median {statistics.median(rates):.1f}, max {max(rates):.1f}"
          f" fps; {full} of {args.viewers} at full rate (>= 95 % of the camera's); frames dropped: {drops:.0f}")
    if errors:
        print(f"  errors: {errors}")
    return 0 if full == args.viewers and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
