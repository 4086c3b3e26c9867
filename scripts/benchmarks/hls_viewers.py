#!/usr/bin/env python3
"""Many HLS viewers of one camera through the documented caching front (etc/nginx/facedaemon.conf), on loopback.

Starts the real daemon (a test-pattern camera, login on, nginx trusted as a proxy), Debian's nginx with the
repository's front config (private prefix, 127.0.0.1), and a relay between them that counts the requests that
reach the daemon. Then N simulated viewers (asyncio, keep-alive HTTP/1.1, in --procs processes) each poll the
playlist like a player (again after a target duration when it changed, half of one when not) and fetch every new
segment. A viewer keeps up if it fetched every segment from the first it saw to the end, each while it was still
listed. Meanwhile /healthz is fetched from the daemon directly every 100 ms. Prints the viewers that kept up, the
daemon's CPU (its process tree: capture, ffmpeg, gunicorn) before and during the load, what reached the daemon,
and /healthz latency.

  .venv/bin/python scripts/benchmarks/hls_viewers.py --viewers 1000 --seconds 30
  .venv/bin/python scripts/benchmarks/hls_viewers.py --viewers 150 --seconds 30 --direct   # no front
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from devtools.daemon import start_daemon as launch_daemon  # noqa: E402
from devtools.daemon import write_config  # noqa: E402
from devtools.nginx_front import CountingRelay, start_front  # noqa: E402
from devtools.processes import descendants  # noqa: E402
from facedaemon.web.auth import hash_token  # noqa: E402

TOKEN = "hls-viewers-benchmark-token"
HOST = "cam.example.org"
TICKS = os.sysconf("SC_CLK_TCK")


# -- the viewers (run in worker processes) -------------------------------------------------------------------------

class Viewer:
    def __init__(self, port: int, camera: str, segment_seconds: float) -> None:
        self.port, self.camera, self.target = port, camera, segment_seconds
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.listed: dict[int, float] = {}  # segment number -> when this viewer first saw it listed
        self.fetched: dict[int, float] = {}  # segment number -> seconds from first seen to fetched
        self.late: set[int] = set()  # fetched, but it had already left the playlist
        self.errors = 0

    async def get(self, path: str) -> tuple[int, bytes]:
        for attempt in (1, 2):  # one reconnect: the front closes idle keep-alive connections
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
                assert self.reader is not None
                self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
                                  .encode())
                head = await self.reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                body = await self.reader.readexactly(int(headers.get("content-length", "0")))
                if headers.get("connection", "").lower() == "close":
                    await self.close()
                return int(lines[0].split()[1]), body
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def run(self, until: float) -> None:
        prefix = f"/hls/{self.camera}/"
        while time.time() < until:
            try:
                status, body = await self.get(prefix + "index.m3u8")
                changed = False
                if status == 200:
                    numbers = [int(line[4:-4]) for line in body.decode().splitlines() if line.startswith("seg_")]
                    if not self.listed:
                        numbers = numbers[-3:]  # a player joins three segments from the live edge
                    now = time.time()
                    for number in numbers:
                        changed |= number not in self.listed
                        self.listed.setdefault(number, now)
                    for number in numbers:
                        if number not in self.fetched:
                            await self.fetch(prefix, number, numbers)
                else:
                    self.errors += 1
            except (OSError, asyncio.IncompleteReadError, ValueError):
                self.errors += 1
            await asyncio.sleep(self.target if changed else self.target / 2)

    async def fetch(self, prefix: str, number: int, numbers: list[int]) -> None:
        status, body = await self.get(f"{prefix}seg_{number:05d}.m4s")
        if status == 200 and body:
            self.fetched[number] = time.time() - self.listed[number]
        else:
            self.errors += 1

    def result(self, end: float, segment_seconds: float, playlist_size: int) -> dict:
        if not self.listed:
            return {"kept_up": False, "missed": -1, "waits": [], "errors": self.errors}
        first = min(self.listed)
        # Segments listed within the last two segment lengths may legitimately still be on their way.
        settled = [n for n in range(first, max(self.listed) + 1)
                   if n not in self.listed or self.listed[n] < end - 2 * segment_seconds]
        missed = [n for n in settled if n not in self.fetched]
        # A segment stays listed for playlist_size segment lengths after it first appears.
        late = [n for n in settled if n in self.fetched and self.fetched[n] > playlist_size * segment_seconds]
        return {"kept_up": not missed and not late, "missed": len(missed) + len(late),
                "waits": list(self.fetched.values()), "errors": self.errors}


def viewer_process(port: int, count: int, seconds: float, ramp: float, camera: str, segment_seconds: float,
                   playlist_size: int, out) -> None:
    async def main() -> list[dict]:
        until = time.time() + ramp + seconds
        viewers = [Viewer(port, camera, segment_seconds) for _ in range(count)]

        async def one(viewer: Viewer) -> None:
            await asyncio.sleep(random.uniform(0, ramp))
            await viewer.run(until)
            await viewer.close()

        await asyncio.gather(*(one(viewer) for viewer in viewers))
        return [viewer.result(until, segment_seconds, playlist_size) for viewer in viewers]

    out.send(asyncio.run(main()))
    out.close()


# -- measuring -----------------------------------------------------------------------------------------------------

def cpu_ticks(pids: set[int]) -> dict[int, int]:
    ticks = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def cpu_percent(root: int, seconds: float) -> float:
    """% of one core used by root and its descendants over the next `seconds` (processes alive throughout)."""
    pids = {root} | descendants(root)
    before = cpu_ticks(pids)
    time.sleep(seconds)
    after = cpu_ticks(pids)
    used = sum(after[pid] - before[pid] for pid in after if pid in before)
    return 100.0 * used / TICKS / seconds


def healthz_loop(port: int, stop: threading.Event, latencies: list[float | None]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                data = b""
                while b"\r\n\r\n" not in data and (chunk := sock.recv(4096)):
                    data += chunk
            latencies.append(time.monotonic() - started if data.startswith(b"HTTP/1.1 200") else None)
        except OSError:
            latencies.append(None)
        stop.wait(0.1)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


# -- the run -------------------------------------------------------------------------------------------------------

def start_daemon(folder: Path, args) -> tuple[subprocess.Popen, int]:
    width, height = (int(x) for x in args.size.split("x"))
    (folder / "faces").mkdir()
    cameras = {"cam": {"source": "pattern", "width": width, "height": height, "fps": args.fps, "recognize": False}}
    # encoder.ffmpeg null: the daemon picks its ffmpeg, as for a user.
    config_path, port = write_config(
        folder, cameras, folder / "faces", log_level="warning", encoder={"ffmpeg": None},
        http={"allowed_hosts": [HOST], "workers": args.workers},
        auth={"enabled": True, "tokens": [f"read:{hash_token(TOKEN)}"], "trusted_proxies": ["127.0.0.1/32"]},
        hls={"segment_seconds": args.segment_seconds, "playlist_size": args.playlist_size})
    process = launch_daemon(folder, config_path, port).process
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            playlist = folder / "run" / "cam" / "index.m3u8"
            if playlist.exists() and playlist.read_text().count("seg_") >= 3:
                return process, port
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"the daemon did not start streaming; see {folder / 'daemon.log'}")


def run_viewers(port: int, args) -> list[dict]:
    procs, pipes = [], []
    per = [args.viewers // args.procs + (i < args.viewers % args.procs) for i in range(args.procs)]
    for count in per:
        receive, send = multiprocessing.Pipe(duplex=False)
        proc = multiprocessing.Process(target=viewer_process, args=(
            port, count, args.seconds, args.ramp, "cam", args.segment_seconds, args.playlist_size, send))
        proc.start()
        procs.append(proc)
        pipes.append(receive)
    results = [item for pipe in pipes for item in pipe.recv()]
    for proc in procs:
        proc.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time after the ramp-up")
    parser.add_argument("--ramp", type=float, default=5.0, help="viewers join over this many seconds")
    parser.add_argument("--procs", type=int, default=2, help="viewer processes")
    parser.add_argument("--direct", action="store_true", help="no front: viewers ask the daemon itself")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--segment-seconds", type=float, default=1.0)
    parser.add_argument("--playlist-size", type=int, default=6)
    parser.add_argument("--workers", type=int, default=1, help="the daemon's gunicorn workers")
    parser.add_argument("--nginx-workers", type=int, default=1)
    args = parser.parse_args()

    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None and not args.direct:
        raise SystemExit("nginx is not installed (Debian package 'nginx'; scripts/test-deps installs it)")
    with tempfile.TemporaryDirectory(prefix="hls-viewers-") as tmp:
        folder = Path(tmp)
        daemon, daemon_port = start_daemon(folder, args)
        relay = front = None
        try:
            relay = CountingRelay(daemon_port).start()
            if not args.direct:
                front = start_front(nginx, folder / "nginx", relay.port, workers=args.nginx_workers,
                                    connections=args.viewers + 1024, access_log=False)
            # --direct: straight to the daemon (the relay's threads would be the bottleneck, not the daemon)
            viewer_port = daemon_port if front is None else front.port
            stop, latencies = threading.Event(), []
            health = threading.Thread(target=healthz_loop, args=(daemon_port, stop, latencies), daemon=True)
            health.start()  # also while idle: its own cost is in both CPU figures
            idle_cpu = cpu_percent(daemon.pid, 5.0)
            idle_polls = len(latencies)
            listed = (folder / "run" / "cam" / "index.m3u8").read_text().split()
            sizes = [(folder / "run" / "cam" / name).stat().st_size for name in listed if name.startswith("seg_")]
            bitrate = statistics.median(sizes) * 8 / args.segment_seconds
            cpu_during: list[float] = []
            sampler = threading.Thread(target=lambda: (time.sleep(args.ramp), cpu_during.append(
                cpu_percent(daemon.pid, args.seconds - 1))), daemon=True)
            before = len(relay.paths)
            sampler.start()
            results = run_viewers(viewer_port, args)
            stop.set()
            sampler.join()
            reached = relay.paths[before:]
        finally:
            if front is not None:
                front.stop()
            if relay is not None:
                relay.close()
            daemon.terminate()
            daemon.wait(20)
        report(args, results, idle_cpu, cpu_during[0] if cpu_during else float("nan"), latencies[idle_polls:],
               reached, bitrate)


def report(args, results: list[dict], idle_cpu: float, busy_cpu: float, latencies: list[float | None],
           reached: list[str], bitrate: float) -> None:
    kept = sum(result["kept_up"] for result in results)
    waits = [wait for result in results for wait in result["waits"]]
    good = [latency for latency in latencies if latency is not None]
    summary = {
        "viewers": args.viewers, "through": "daemon directly" if args.direct else "nginx front",
        "kept_up": kept, "fell_behind": args.viewers - kept,
        "segment_wait_p50_s": round(percentile(waits, 0.5), 3), "segment_wait_p99_s": round(percentile(waits, 0.99), 3),
        "errors": sum(result["errors"] for result in results),
        "daemon_cpu_idle_pct": round(idle_cpu, 1), "daemon_cpu_with_viewers_pct": round(busy_cpu, 1),
        "daemon_requests": len(reached) if not args.direct else "all (not counted)",
        "daemon_requests_per_s": round(len(reached) / (args.seconds + args.ramp), 1) if not args.direct else None,
        "daemon_segment_requests": sum("/seg_" in path for path in reached),
        "daemon_playlist_requests": sum(path.endswith("index.m3u8") for path in reached),
        "daemon_login_checks": sum(path.startswith("/api/cameras") for path in reached),
        "healthz_p50_ms": round(statistics.median(good) * 1000, 1) if good else None,
        "healthz_p99_ms": round(percentile(good, 0.99) * 1000, 1) if good else None,
        "healthz_max_ms": round(max(good) * 1000, 1) if good else None,
        "healthz_failed": len(latencies) - len(good),
        "stream_kbit_s": round(bitrate / 1000), "stream": f"{args.size}@{args.fps}",
        "load_average": os.getloadavg(),
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
