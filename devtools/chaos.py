"""The chaos soak (`scripts/soak --chaos`): the real daemon with three cameras, MQTT (a real Mosquitto), a webhook,
live and HLS viewers, while a seeded schedule (devtools/chaos_plan.py) kills and restarts its parts.

Cameras: `door` (a looped clip in which Obama comes and goes: recognition and events), `ipcam` (GStreamer's RTSP
server, re-served by the daemon's RTSP output) and `pattern` (the one a SIGHUP changes). The runtime folder is a
small tmpfs of its own (root) so the disk fault can fill it. Each fault's comeback is timed from HLS (a new segment
listed), the metrics file, an RTSP probe or the web API; every restart the faults caused must show in
facedaemon_restarts_total{part}; at the end every enrolment must be there and every event the daemon counted must
have reached MQTT and the webhook. `judge` (chaos_plan) lists the targets missed; any missed: exit 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from devtools import chaos_plan, shared_data
from devtools.camera_server import CAMERA_SCRIPT, RtspCamera
from devtools.chaos_plan import (
    PAUSE,
    Comeback,
    Outcome,
    Step,
    api_answer,
    encoder_cameras,
    judge,
    log_time,
    missing_events,
    schedule,
    table,
)
from devtools.daemon import Daemons, RunningDaemon, bundled_ffmpeg, write_config
from devtools.mosquitto import Mosquitto
from devtools.processes import SYSTEM_PYTHON, alive, cmdline, descendants, free_port, system_python_problem
from devtools.soak import PARTS, Sample, growth, part_columns, part_growth, sample
from devtools.webhook import Receiver
from facedaemon.bench.clip import make_entry_clip
from facedaemon.outputs.rtsp.server import SIDECAR

DEVICE = "chaos"
TMPFS_SIZE = "96m"       # HLS of three small cameras is ~10 MiB: room to work, quick to fill
COMEBACK_WAIT = 60.0     # s a fault may take before it counts as "never came back"
WARM_UP_SHARE = 0.25     # of the run: resources are judged on the samples after it
MIN_FLAT_MINUTES = 20.0  # shorter runs do not judge RSS / files / threads (the target is for the long run)
PHOTOS = ("ChengHaoXie.jpg", "GEM.jpg", "KaiYuChen.jpg", "Taylor.jpg")


class ChaosProblem(Exception):
    """A real part is missing or would not start: the run cannot judge anything."""


# -- reading the daemon ------------------------------------------------------------------------------------------

def metrics(runtime: Path) -> dict[tuple[str, frozenset], float]:
    """metrics.prom (the daemon rewrites it every second) as {(name, labels): value}; {} while it cannot be read."""
    found = {}
    try:
        text = (runtime / "metrics.prom").read_text()
    except OSError:
        return {}
    for match in re.finditer(r"^(\w+)(?:\{([^}]*)\})? (\S+)$", text, re.M):
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match[2] or ""))
        found[(match[1], labels)] = float(match[3])
    return found


def metric_sum(values: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, have), v in values.items() if n == name and wanted <= have)


def restarts_by_part(values: dict[tuple[str, frozenset], float]) -> dict[str, float]:
    parts: dict[str, float] = {}
    for (name, labels), value in values.items():
        if name == "facedaemon_restarts_total":
            part = dict(labels)["part"]
            parts[part] = parts.get(part, 0.0) + value
    return parts


def newest_listed_segment(runtime: Path, camera: str) -> float:
    """mtime of the newest segment the camera's playlist lists (0: none yet / unreadable)."""
    folder = runtime / camera
    try:
        names = [line for line in (folder / "index.m3u8").read_text().splitlines() if line.startswith("seg_")]
        return max((folder / name).stat().st_mtime for name in names) if names else 0.0
    except (OSError, ValueError):
        return 0.0


def kill_own(daemon: RunningDaemon, pids: list[int]) -> list[int]:
    """SIGKILL those of `pids` that are the daemon's descendants now (never a stale or reused pid); the ones killed."""
    own = descendants(daemon.process.pid)
    killed = [pid for pid in pids if pid in own]
    for pid in killed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return killed


def pids_with(daemon: RunningDaemon, needle: str, exclude: str | None = None) -> list[int]:
    found = []
    for pid in sorted(descendants(daemon.process.pid)):
        line = cmdline(pid)
        if needle in line and (exclude is None or exclude not in line):
            found.append(pid)
    return found


# -- the parts around the daemon ----------------------------------------------------------------------------------

@dataclass
class Watchers:
    """An MQTT subscriber with a persistent session (it misses nothing across a broker restart), the webhook
    receiver, HLS viewers on every camera and a live viewer on the face camera."""
    broker_port: int
    webhook: Receiver = field(default_factory=Receiver)
    mqtt_events: list[dict] = field(default_factory=list)
    viewer_errors: dict[str, int] = field(default_factory=dict)
    live_bytes: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def start_mqtt(self) -> None:
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="chaos-watch", clean_session=False)
        client.on_connect = lambda c, *_: c.subscribe(f"facedaemon/{DEVICE}/+/event", qos=1)
        client.on_message = lambda _c, _u, message: self.mqtt_events.append(json.loads(message.payload))
        client.reconnect_delay_set(0.2, 1)
        client.connect("127.0.0.1", self.broker_port)
        client.loop_start()
        self.client = client

    def start_viewers(self, base_url: str, cameras: list[str], live: str) -> None:
        for camera in cameras:
            threading.Thread(target=self._hls, args=(base_url, camera), daemon=True).start()
        threading.Thread(target=self._live, args=(base_url, live), daemon=True).start()

    def _error(self, what: str) -> None:
        self.viewer_errors[what] = self.viewer_errors.get(what, 0) + 1
        self.stop.wait(1.0)

    def _hls(self, base_url: str, camera: str) -> None:
        while not self.stop.is_set():
            try:
                playlist = requests.get(f"{base_url}/hls/{camera}/index.m3u8", timeout=5)
                names = [line for line in playlist.text.splitlines() if line.startswith("seg_")]
                if playlist.status_code != 200 or not names:
                    raise requests.RequestException(playlist.status_code)
                requests.get(f"{base_url}/hls/{camera}/{names[-1]}", timeout=5).raise_for_status()
                self.stop.wait(1.0)
            except requests.RequestException:
                self._error(f"hls {camera}")

    def _live(self, base_url: str, camera: str) -> None:
        while not self.stop.is_set():
            try:
                with requests.get(f"{base_url}/live/{camera}", stream=True, timeout=10) as response:
                    response.raise_for_status()
                    for chunk in response.iter_content(65536):
                        self.live_bytes += len(chunk)
                        if self.stop.is_set():
                            return
                raise requests.RequestException("the live stream ended")
            except requests.RequestException:
                self._error(f"live {camera}")

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(AttributeError):
            self.client.disconnect()
            self.client.loop_stop()
        self.webhook.close()


@contextlib.contextmanager
def small_tmpfs(mount: Path) -> Iterator[bool]:
    """A tmpfs of TMPFS_SIZE at mount (root only); yields False (a plain folder) when it cannot be mounted."""
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount)],
                             capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


def require_parts() -> str:
    """The mosquitto binary; ChaosProblem when a real part the run needs is missing."""
    broker = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
    if broker is None:
        raise ChaosProblem("mosquitto is not installed (tests/debian-packages.txt; scripts/test-deps as root)")
    problem = system_python_problem(CAMERA_SCRIPT)
    if problem is not None:
        raise ChaosProblem(f"GStreamer's RTSP server cannot serve a test camera under {SYSTEM_PYTHON}: {problem}")
    if not (shared_data() / "images" / "obama.jpg").is_file():
        raise ChaosProblem(f"the shared photos are missing ({shared_data()}): the run needs a face to name")
    return broker


# -- the run ------------------------------------------------------------------------------------------------------

@dataclass
class Rig:
    folder: Path
    daemon: RunningDaemon
    camera: RtspCamera
    broker: Mosquitto
    watchers: Watchers
    config: dict
    rtsp_port: int
    disk: bool  # the runtime folder is a small tmpfs the disk fault may fill
    started: float = field(default_factory=time.monotonic)
    enrolled: dict[str, int] = field(default_factory=dict)  # person -> photos the API said it added
    counter: int = 0
    step_kinds: tuple[str, ...] = ()  # the faults of the current step
    _log: str = ""
    _log_bytes: int = 0

    def log(self) -> str:
        """The daemon's log so far, read on from where the last call stopped (a day's log is large)."""
        with self.daemon.log_path.open("rb") as handle:
            handle.seek(self._log_bytes)
            more = handle.read()
        complete = more[:more.rfind(b"\n") + 1]  # whole lines only: a line being written comes next time
        self._log_bytes += len(complete)
        self._log += complete.decode(errors="replace")
        return self._log

    @property
    def runtime(self) -> Path:
        return self.daemon.runtime_dir

    def now(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def log_count(self, text: str) -> int:
        return self.log().count(text)

    def log_mark(self) -> int:
        return len(self.log())

    def logged(self, start: int, *needles: str) -> float | None:
        """When the daemon logged `needles` (in order) after `start`. Each needle names its logger: a part's exit
        line quotes its last output ("rtsp: server exited ...; its last output: camera ipcam: RTSP serving")."""
        return log_time(self.log(), start, *needles)

    def reload(self) -> None:
        """Write the config (atomically: the daemon may read it any time) and send SIGHUP."""
        temporary = self.daemon.config_path.with_suffix(".new")
        temporary.write_text(yaml.safe_dump(self.config))
        temporary.replace(self.daemon.config_path)
        self.daemon.process.send_signal(signal.SIGHUP)


def build_config(folder: Path, camera_url: str, broker_port: int, webhook_url: str, rtsp_port: int,
                 runtime: Path) -> tuple[Path, int]:
    clip = make_entry_clip(shared_data(), folder / "entry.mp4", seconds=8.0, fps=15, appear_at=4.0)
    faces = folder / "faces"
    (faces / "Obama").mkdir(parents=True)
    shutil.copyfile(shared_data() / "images" / "obama2.jpg", faces / "Obama" / "obama2.jpg")
    cameras = {
        "door": {"source": str(clip.path), "loop": True},
        "ipcam": {"source": camera_url, "recognize": False, "rtsp": True},
        "pattern": {"source": "pattern", "width": 640, "height": 360, "fps": 15, "recognize": False},
    }
    # log_level debug: gunicorn's tracebacks are relayed at debug (web_server.relay_line), and each is counted.
    return write_config(folder, cameras, faces, runtime_dir=str(runtime), device=DEVICE, log_level="debug",
                        encoder={"ffmpeg": bundled_ffmpeg()}, rtsp={"listen": f"127.0.0.1:{rtsp_port}"},
                        events={"mqtt": {"host": "127.0.0.1", "port": broker_port}, "webhook": {"url": webhook_url}})


def ready(daemon: RunningDaemon) -> bool:
    cameras = json.loads((daemon.runtime_dir / "status.json").read_text())["cameras"]
    return (all(c["state"] == "streaming" for c in cameras.values())
            and all(newest_listed_segment(daemon.runtime_dir, name) for name in cameras)
            and "recognition: ready" in daemon.log())


class Sampler(threading.Thread):
    """Samples the daemon's process tree every `interval` s, the tree and each of its parts (and remembers every pid
    it ever had)."""

    def __init__(self, rig: Rig, interval: float) -> None:
        super().__init__(daemon=True)
        self.rig, self.interval, self.samples = rig, interval, []
        self.halt = threading.Event()

    def run(self) -> None:
        print("t_s\trss_mib\topen_files\tthreads\thls_files\tprocesses\t"
              + "\t".join(f"rss_{part}" for part in PARTS), flush=True)
        while not self.halt.wait(self.interval):
            daemon = self.rig.daemon
            if daemon.process.poll() is not None:
                return
            daemon.seen_pids |= descendants(daemon.process.pid)
            current = sample(daemon.process.pid, daemon.runtime_dir, self.rig.started)
            self.samples.append(current)
            print("\t".join(str(getattr(current, name)) for name in ("at", *Sample.FIELDS)) + "\t"
                  + part_columns(current), flush=True)


# -- the faults: each injects and returns (what it hit, when its clock starts, a probe that says "back") -----------

Probe = Callable[[], float | bool | None]  # falsy: not yet; True: back now; a float: back since that unix time
# None: nothing to hit this time (the process was between lives, nobody to forget): not a fault, not counted.
Injected = tuple[str, Callable[[], float], Probe] | None


def new_segment_since(rig: Rig, camera: str, since: Callable[[], float]) -> Probe:
    """The new segment's mtime once the playlist lists one written after since()."""
    def back() -> float | None:
        newest = newest_listed_segment(rig.runtime, camera)
        return newest if newest > since() else None

    return back


def kill_ffmpeg(rig: Rig, pick: int) -> Injected:
    cameras = encoder_cameras(rig.step_kinds)
    camera = cameras[pick % len(cameras)]
    pids = kill_own(rig.daemon, pids_with(rig.daemon, f"{camera}/index.m3u8"))
    killed = time.time()
    if not pids:
        return None
    return f"{camera} encoder {pids}", lambda: killed, new_segment_since(rig, camera, lambda: killed)


def kill_decoder(rig: Rig, pick: int) -> Injected:
    before = metric_sum(metrics(rig.runtime), "facedaemon_restarts_total", part="capture", camera="door")
    pids = kill_own(rig.daemon, pids_with(rig.daemon, "entry.mp4", exclude="index.m3u8"))
    killed = time.time()
    if not pids:
        return None
    frames = metric_sum(metrics(rig.runtime), "facedaemon_frames_captured_total", camera="door")

    def back() -> bool:
        now = metrics(rig.runtime)
        return (metric_sum(now, "facedaemon_restarts_total", part="capture", camera="door") > before
                and metric_sum(now, "facedaemon_frames_captured_total", camera="door") > frames + 5)

    return f"door decoder {pids}", lambda: killed, back


def kill_worker(rig: Rig, pick: int) -> Injected:
    pids = [int(p) for p in re.findall(r"recognition: worker started \(pid (\d+)\)", rig.log())]
    mark = rig.log_mark()
    pids = kill_own(rig.daemon, pids[-1:])
    killed = time.time()
    if not pids:
        return None
    # A new worker, then its ready (a gallery reload also logs "ready": only one after a start counts).
    return (f"worker {pids}", lambda: killed,
            lambda: rig.logged(mark, "worker.client: recognition: worker started", "worker.client: recognition: ready"))


def gunicorn_master(rig: Rig) -> int:
    masters = re.findall(r"web: gunicorn listening on \S+ \(pid (\d+)\)", rig.log())
    return int(masters[-1]) if masters else 0


def web_answers(rig: Rig) -> bool:
    try:
        return requests.get(rig.daemon.base_url + "/api/cameras", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def kill_web_worker(rig: Rig, pick: int) -> Injected:
    master = gunicorn_master(rig)
    workers = sorted(descendants(master)) if master else []
    victims = kill_own(rig.daemon, [workers[pick % len(workers)]] if workers else [])
    killed = time.time()
    if not victims:
        return None
    return f"gunicorn worker {victims}", lambda: killed, lambda: not any(map(alive, victims)) and web_answers(rig)


def kill_web_master(rig: Rig, pick: int) -> Injected:
    master = gunicorn_master(rig)
    if not kill_own(rig.daemon, [master]):
        return None
    killed = time.time()
    return f"gunicorn master {master}", lambda: killed, lambda: gunicorn_master(rig) != master and web_answers(rig)


def rtsp_serves(rig: Rig) -> bool:
    """One frame from the daemon's RTSP output of ipcam (a real client: the bundled ffmpeg)."""
    try:
        result = subprocess.run([bundled_ffmpeg(), "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp",
                                 "-i", f"rtsp://127.0.0.1:{rig.rtsp_port}/ipcam", "-frames:v", "1", "-f", "null",
                                 "-"], capture_output=True, timeout=8, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def kill_sidecar(rig: Rig, pick: int) -> Injected:
    mark = rig.log_mark()
    pids = kill_own(rig.daemon, pids_with(rig.daemon, str(SIDECAR)))
    killed = time.time()
    if not pids:
        return None

    def back() -> float | bool | None:
        # Timed from the daemon's "serving" line once a real client gets a frame (the client's own start is not
        # the daemon's comeback).
        if any(map(alive, pids)) or not rtsp_serves(rig):
            return None
        return rig.logged(mark, "rtsp.server: camera ipcam: RTSP serving") or True

    return f"RTSP server {pids}", lambda: killed, back


def restart_camera_server(rig: Rig, step: Step) -> Injected:
    rig.camera.kill()
    time.sleep(step.hold)
    rig.camera.start()
    back_at = time.time()
    frames = metric_sum(metrics(rig.runtime), "facedaemon_frames_captured_total", camera="ipcam")

    def back() -> bool:
        state = json.loads((rig.runtime / "status.json").read_text())["cameras"]["ipcam"]["state"]
        return state == "streaming" and metric_sum(metrics(rig.runtime), "facedaemon_frames_captured_total",
                                                   camera="ipcam") > frames + 5

    return f"camera server down {step.hold:.1f} s", lambda: back_at, back


def restart_broker(rig: Rig, step: Step) -> Injected:
    rig.broker.stop()
    time.sleep(step.hold)
    mark = rig.log_mark()
    rig.broker.start()
    back_at = time.time()
    return (f"broker down {step.hold:.1f} s", lambda: back_at,
            lambda: rig.logged(mark, "events.mqtt: events: MQTT connected"))


def sighup(rig: Rig, pick: int) -> Injected:
    camera = rig.config["cameras"]["pattern"]
    camera["fps"] = 10 if camera["fps"] == 15 else 15
    mark = rig.log_mark()
    rig.reload()
    sent = time.time()

    def since() -> float:  # the restarted camera's encoder: segments from then on are the new config's
        return rig.logged(mark, "arbiter: reload: ", "encoder: camera pattern: ffmpeg started") or float("inf")

    return f"pattern fps {camera['fps']}", lambda: sent, new_segment_since(rig, "pattern", since)


def fill_disk(rig: Rig, step: Step) -> Injected:
    if not rig.disk:
        return None
    filler = rig.runtime / "chaos-filler"
    stats = os.statvfs(rig.runtime)
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        os.posix_fallocate(handle.fileno(), 0, stats.f_bavail * stats.f_frsize)
    time.sleep(step.hold)
    filler.unlink()
    freed = time.time()

    def back() -> bool:
        return all(newest_listed_segment(rig.runtime, c) > freed for c in ("door", "ipcam", "pattern"))

    return f"runtime folder full {step.hold:.1f} s", lambda: freed, back


def api(rig: Rig, method: str, path: str, **kwargs) -> requests.Response | None:
    try:
        return requests.request(method, rig.daemon.base_url + path, timeout=30, **kwargs)
    except requests.RequestException:
        return None


def people(rig: Rig) -> dict[str, int] | None:
    """/api/faces as {person: photos}; None while the web server does not answer."""
    response = api(rig, "GET", "/api/faces")
    if response is None or response.status_code != 200:
        return None
    listing = response.json()
    entries = listing.get("people", listing) if isinstance(listing, dict) else listing
    return {entry["name"]: len(entry.get("photos", entry.get("files", []))) for entry in entries}


def enrol(rig: Rig, pick: int) -> Injected:
    photo = PHOTOS[pick % len(PHOTOS)]
    rig.counter += 1
    name = f"Chaos {Path(photo).stem} {rig.counter}"
    started = time.time()
    data = (shared_data() / "known_faces" / photo).read_bytes()
    done: list[bool] = []

    def back() -> bool:
        if not done:  # the web server may be down (another fault): try again, as a user would
            response = api(rig, "POST", f"/api/faces/{name}", files={"images": (photo, data, "image/jpeg")})
            answer = api_answer(None if response is None else response.status_code, 201, False)
            if answer == "retry":
                return False
            if answer == "problem":
                raise ChaosProblem(f"enrolling {name}: {response.status_code} {response.text[:300]}")
            rig.enrolled[name] = len(response.json()["added"])
            done.append(True)
        listed = people(rig)
        return listed is not None and name in listed

    return f"enrol {name!r}", lambda: started, back


def forget(rig: Rig, pick: int) -> Injected:
    if not rig.enrolled:
        return None
    name = sorted(rig.enrolled)[pick % len(rig.enrolled)]
    started = time.time()
    done: list[bool] = []
    unanswered: list[bool] = []  # a DELETE the web server may have served before a fault cut its answer

    def back() -> bool:
        if not done:
            response = api(rig, "DELETE", f"/api/faces/{name}")
            answer = api_answer(None if response is None else response.status_code, 200, bool(unanswered))
            if response is None or response.status_code >= 500:
                unanswered.append(True)
            if answer == "retry":
                return False
            if answer == "problem":
                raise ChaosProblem(f"forgetting {name}: {response.status_code} {response.text[:300]}")
            del rig.enrolled[name]
            done.append(True)
        listed = people(rig)
        return listed is not None and name not in listed

    return f"forget {name!r}", lambda: started, back


SIMPLE: dict[str, Callable[[Rig, int], Injected]] = {
    "ffmpeg": kill_ffmpeg, "decoder": kill_decoder, "worker": kill_worker, "web_worker": kill_web_worker,
    "web_master": kill_web_master, "sidecar": kill_sidecar, "sighup": sighup, "enrol": enrol, "forget": forget,
}
HELD: dict[str, Callable[[Rig, Step], Injected]] = {
    "camera_server": restart_camera_server, "broker": restart_broker, "disk_full": fill_disk,
}


def run_step(rig: Rig, step: Step) -> list[Comeback]:
    """Inject the step's faults (held ones in threads, so they overlap), then time each until its probe says back."""
    at = rig.now()
    rig.step_kinds = step.kinds
    hit: dict[str, Injected] = {}
    threads = []
    for kind in step.kinds:
        if kind in HELD:
            thread = threading.Thread(target=lambda k=kind: hit.__setitem__(k, HELD[k](rig, step)), daemon=True)
            thread.start()
            threads.append(thread)
        else:
            hit[kind] = SIMPLE[kind](rig, step.pick)
    # Polled while the held faults hold (a kill in their step is timed on its own, not after the hold); the wait
    # for the stragglers starts once every fault is in.
    times: dict[str, float | None] = {}
    deadline = None
    while True:
        holding = any(thread.is_alive() for thread in threads)
        injected = {kind: what for kind, what in list(hit.items()) if what is not None}
        for kind, (_what, since, probe) in injected.items():
            with contextlib.suppress(OSError, ValueError, KeyError):
                back = probe() if kind not in times else None
                if back:
                    times[kind] = round(max(0.0, (time.time() if back is True else back) - since()), 2)
        if not holding:
            deadline = deadline or time.monotonic() + COMEBACK_WAIT
            if len(times) >= len(injected) or time.monotonic() > deadline:
                break
        time.sleep(0.2)
    result = [Comeback(kind, at, what, times.get(kind)) for kind, (what, _s, _p) in injected.items()]
    for comeback in result:
        took = "NEVER" if comeback.seconds is None else f"{comeback.seconds:.1f} s"
        print(f"chaos: {comeback.at:7.1f} s  {comeback.kind:<13} {comeback.what}: back in {took} "
              f"(load {os.getloadavg()[0]:.1f})", flush=True)
    return result


# -- the end: events and enrolments accounted for ---------------------------------------------------------------

def quiet(rig: Rig) -> int:
    """Stop new events (the face camera shows a test pattern: the same cameras recognise, so the events part is not
    restarted), wait until the daemon's count stays put; the count."""
    rig.config["cameras"]["door"]["source"] = "pattern"
    rig.reload()
    last, stable_since = -1.0, time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = metric_sum(metrics(rig.runtime), "facedaemon_events_total")
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since > 8:
            break
        time.sleep(0.5)
    return int(last)


def unique_events(bodies: list[dict]) -> set[tuple]:
    return {(b.get("camera"), b.get("event"), b.get("track"), b.get("time")) for b in bodies}


def events_lost(rig: Rig, sent: int, wait: float = 60.0) -> dict[str, int]:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        got = {"mqtt": len(unique_events(list(rig.watchers.mqtt_events))),
               "webhook": len(unique_events(list(rig.watchers.webhook.bodies)))}
        if all(count >= sent for count in got.values()):
            break
        time.sleep(1.0)
    log = rig.log()
    for sink, bodies in (("mqtt", rig.watchers.mqtt_events), ("webhook", rig.watchers.webhook.bodies)):
        for line in missing_events(log, list(bodies))[:20]:
            print(f"chaos: {sink} never got the event logged at {line}", flush=True)
    return {sink: max(0, sent - count) for sink, count in got.items()}


def enrolments_lost(rig: Rig) -> list[str]:
    listed = people(rig) or {}
    lost = [f"{name} (not listed)" for name in sorted(rig.enrolled) if name not in listed]
    lost += [f"{name} ({listed[name]} of {count} photos)" for name, count in sorted(rig.enrolled.items())
             if name in listed and listed[name] < count]
    faces = Path(rig.config["faces_dir"])
    lost += [f"{name} (no folder)" for name in sorted(rig.enrolled) if not (faces / name).is_dir()]
    return lost


def tracebacks(rig: Rig) -> int:
    return rig.log().count("Traceback")


# -- main ---------------------------------------------------------------------------------------------------------

def run(minutes: float, seed: int, interval: float, keep: Path | None = None) -> int:
    """The whole run in a temporary folder; `keep`: copy the daemon's, the broker's and the camera's logs there."""
    broker_binary = require_parts()
    with tempfile.TemporaryDirectory(prefix="facedaemon-chaos-") as tmp:
        folder = Path(tmp)
        try:
            with small_tmpfs(folder / "run") as disk:
                if not disk:
                    print("chaos: cannot mount a tmpfs (not root?): the disk fault is skipped", flush=True)
                return _run(folder, broker_binary, disk, minutes, seed, interval)
        finally:
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                for name in ("daemon.log", "mosquitto.log", "camera.log"):
                    with contextlib.suppress(OSError):
                        shutil.copyfile(folder / name, keep / name)


def _run(folder: Path, broker_binary: str, disk: bool, minutes: float, seed: int, interval: float) -> int:
    broker_port, rtsp_port = free_port(), free_port()
    (folder / "mosquitto-db").mkdir()
    broker = Mosquitto(broker_binary, folder, f"listener {broker_port} 127.0.0.1\n", (broker_port,),
                       persistence=folder / "mosquitto-db")
    camera = RtspCamera(free_port(), folder / "camera.log")
    watchers = Watchers(broker_port)
    daemons = Daemons()
    try:
        broker.start()
        camera.start()
        watchers.start_mqtt()
        config_path, port = build_config(folder, camera.url, broker_port, watchers.webhook.url, rtsp_port,
                                         folder / "run")
        daemon = daemons.start(folder, config_path, port, ready=ready, timeout=180)
        rig = Rig(folder, daemon, camera, broker, watchers, yaml.safe_load(config_path.read_text()), rtsp_port, disk)
        watchers.start_viewers(daemon.base_url, ["door", "ipcam", "pattern"], live="door")
        outcome = chaos(rig, minutes * 60, seed, interval)
        daemon.stop()
        outcome.orphans = daemons.close()  # what is still alive of every process the daemon ever had
        outcome.tracebacks = tracebacks(rig)
    finally:
        daemons.close()
        watchers.close()
        camera.kill()
        broker.stop()
    return report(outcome, watchers, minutes, seed)


def chaos(rig: Rig, seconds: float, seed: int, interval: float) -> Outcome:
    sampler = Sampler(rig, interval)
    sampler.start()
    before = restarts_by_part(metrics(rig.runtime))
    comebacks: list[Comeback] = []
    for step in schedule(seed, int(seconds / PAUSE[0]) + 1):  # more than can fit: each step pauses at least that
        if rig.now() >= seconds:
            break
        comebacks += run_step(rig, step)
        time.sleep(step.pause)
    after = restarts_by_part(metrics(rig.runtime))
    sent = quiet(rig)
    sampler.halt.set()
    sampler.join()
    lost = events_lost(rig, sent)
    flat, parts = {}, {}
    if seconds >= MIN_FLAT_MINUTES * 60:
        warm = [s for s in sampler.samples if s.at >= seconds * WARM_UP_SHARE]
        flat = {name: change for name, change in growth(warm).items() if name in chaos_plan.FLAT_FIELDS}
        parts = part_growth(warm)
    return Outcome(comebacks, {part: after.get(part, 0.0) - before.get(part, 0.0) for part in after}, [], 0,
                   enrolments_lost(rig), sent, lost, flat, parts)


def report(outcome: Outcome, watchers: Watchers, minutes: float, seed: int) -> int:
    print(f"\nchaos soak: {minutes:g} min, seed {seed}, {len(outcome.comebacks)} faults, load average "
          f"{'/'.join(f'{v:.1f}' for v in os.getloadavg())} at the end; viewer errors "
          f"{watchers.viewer_errors or 'none'}, live bytes {watchers.live_bytes}\n")
    print(table(outcome))
    missed = judge(outcome)
    for line in missed:
        print(f"chaos: MISSED {line}")
    print(f"chaos: {'FAILED' if missed else 'passed'}", flush=True)
    return 1 if missed else 0
