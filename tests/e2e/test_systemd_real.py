"""The installed unit (scripts/install-service, sandboxing on, as the service user) under a real systemd as PID 1
of its own namespaces (tests/e2e/systemd_ns.py): READY via notify, /healthz and HLS, `systemctl reload` applies a
config change, a killed main process is restarted (Restart=on-failure), the watchdog restarts a daemon whose only
camera stopped, `systemctl stop` within TimeoutStopSec leaves no process behind.

The install is the session's (tests/service_install.py, shared with tests/integration/test_install_service.py); the
config, the clip and the unit's link live in the namespace's private /run, /var and a tmpfs over CONF_DIR.
The one change to the unit: WatchdogSec shortened by a drop-in so the test waits seconds, not a minute.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests import ffmpegs
from tests.e2e import systemd_ns
from tests.e2e.systemd_ns import SystemdNamespace
from tests.realparts import missing
from tests.service_install import Installed

pytestmark = pytest.mark.e2e

UNIT = "facedaemon.service"
PORT = 8080  # the namespace has its own network: nothing else listens there
WATCHDOG_SECONDS = 5
CLIP = "/var/lib/fdtest-clip/clip.mp4"
FETCH = """
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as reply:
        print(reply.status); sys.stdout.write(reply.read().decode(errors="replace"))
except urllib.error.HTTPError as error:
    print(error.code); sys.stdout.write(error.read().decode(errors="replace"))
except OSError as error:  # refused while the web server (re)starts: status 0
    print(0); sys.stdout.write(str(error))
"""


@pytest.fixture
def systemd_possible() -> None:
    """Checked before the (slow, shared) install, so a machine without it fails or skips at once."""
    reason = systemd_ns.problem()
    if reason is not None:
        missing("systemd in a namespace", reason)


@pytest.fixture
def namespace(systemd_possible) -> Iterator[SystemdNamespace]:
    with SystemdNamespace() as booted:
        yield booted


class Service:
    """The unit inside the namespace, seen from the test (files via /proc/PID/root, commands via nsenter)."""

    def __init__(self, ns: SystemdNamespace, installed: Installed) -> None:
        self.ns, self.installed = ns, installed
        self.inside = Path(f"/proc/{ns.pid}/root")
        # The installed venv's python, under /opt: the namespace's private /tmp hides a checkout cloned into /tmp,
        # and with it the suite's own interpreter (sys.executable).
        self.python = str(installed.paths["PREFIX"] / "venv" / "bin" / "python")

    def host_path(self, path: str | Path) -> Path:
        return self.inside / str(path).lstrip("/")

    def show(self) -> dict[str, str]:
        out = self.ns.systemctl("show", UNIT, "-p", "ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStatus")
        return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)

    def get(self, path: str) -> tuple[int, str]:
        result = self.ns.run(self.python, "-c", FETCH, f"http://127.0.0.1:{PORT}{path}", timeout=30)
        status, _, body = result.stdout.partition("\n")
        return int(status), body

    def write_config(self, cameras: dict) -> None:
        """Atomically, as install-service leaves it: root:user 0640 in CONF_DIR."""
        config = {"faces_dir": "/var/lib/facedaemon/faces", "runtime_dir": "/run/facedaemon",
                  "cache_dir": "/var/lib/facedaemon/cache", "log_level": "info",
                  "http": {"listen": f"127.0.0.1:{PORT}"}, "cameras": cameras}
        target = self.host_path(self.installed.config)
        temporary = target.with_suffix(".tmp")
        temporary.write_text(yaml.safe_dump(config))
        os.chown(temporary, 0, _gid(self.installed.user))
        temporary.chmod(0o640)
        temporary.rename(target)

    def wait(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError(f"{what} not within {timeout:.0f} s; unit {self.show()}\n"
                             f"{self.ns.journal(UNIT)[-4000:]}")

    def unit_processes(self) -> list[str]:
        out = self.ns.run("ps", "-u", self.installed.user, "-o", "pid=,args=", check=False).stdout
        return [line.strip() for line in out.splitlines() if line.strip()]


def _gid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


def prepare(service: Service) -> None:
    """Config (private to the namespace) and a short clip the service can read; the unit linked as installed."""
    ns, installed = service.ns, service.installed
    ns.run("mount", "-t", "tmpfs", "-o", "mode=0750", "tmpfs", str(installed.paths["CONF_DIR"]))
    os.chown(service.host_path(installed.paths["CONF_DIR"]), 0, _gid(installed.user))
    service.write_config({"cam": {"source": "pattern", "width": 320, "height": 240, "fps": 10, "recognize": False}})
    clip = service.host_path(CLIP)
    clip.parent.mkdir(mode=0o755, parents=True)
    subprocess.run([service.python, "-c", "import subprocess, sys; from facedaemon.children.ffmpeg import find_ffmpeg;"
                    "subprocess.run([find_ffmpeg(None), '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',"
                    "'testsrc=size=320x240:rate=10:duration=4', '-pix_fmt', 'yuv420p', sys.argv[1]], check=True)",
                    str(clip)], check=True, timeout=60)
    clip.chmod(0o644)
    dropin = service.host_path(f"/run/systemd/system/{UNIT}.d/test-watchdog.conf")
    dropin.parent.mkdir(parents=True)
    dropin.write_text(f"[Service]\nWatchdogSec={WATCHDOG_SECONDS}\n")
    ns.systemctl("--runtime", "link", str(installed.unit))
    # What install-service runs, against the real systemd (enable --runtime: nothing written to the host's /etc).
    ns.systemctl("daemon-reload")
    ns.systemctl("--runtime", "enable", UNIT)


def test_installed_unit_under_a_real_systemd(systemd_possible, installed_service, namespace):
    service = Service(namespace, installed_service)
    prepare(service)
    started = time.monotonic()
    namespace.systemctl("restart", UNIT, timeout=120)  # Type=notify: returns once the daemon sent READY=1
    ready_seconds = time.monotonic() - started
    first = service.show()
    assert (first["ActiveState"], first["SubState"]) == ("active", "running"), first
    assert namespace.systemctl("show", UNIT, "-p", "StatusText").stdout.strip().startswith(
        "StatusText=streaming 1 of 1"), "the daemon's STATUS= reached systemd"
    owner = namespace.run("ps", "-o", "user=", "-p", first["MainPID"]).stdout.strip()
    assert owner == installed_service.user, f"runs as {owner!r}, not the service user"

    assert service.get("/healthz")[0] == 200
    _, playlist = service.wait(lambda: (r := service.get("/hls/cam/index.m3u8"))[0] == 200 and ".m4s" in r[1]
                                    and r, 30, "an HLS playlist with a segment")
    segment = next(line for line in playlist.splitlines() if line.endswith(".m4s"))
    assert service.get(f"/hls/cam/{segment}")[0] == 200
    # The service's own choice of ffmpeg (PATH first: Debian's when installed), running under the sandbox.
    # The encoder is the ffmpeg reading raw frames from its stdin (it writes HLS and live fMP4 through a tee).
    encoder = next(line.split()[0] for line in service.unit_processes() if "-f rawvideo" in line)
    binary = namespace.run("readlink", f"/proc/{encoder}/exe").stdout.strip()
    assert binary == ffmpegs.DEBIAN if os.access(ffmpegs.DEBIAN, os.X_OK) else "imageio_ffmpeg" in binary, binary

    # Restart=on-failure: the main process SIGKILLed → a new one after RestartSec, READY again.
    namespace.run("kill", "-KILL", first["MainPID"])
    restarted = service.wait(lambda: (s := service.show())["NRestarts"] == "1" and s["SubState"] == "running"
                             and s, 60, "systemd restarting the killed daemon")
    assert restarted["MainPID"] != first["MainPID"]
    assert service.get("/healthz")[0] == 200

    # systemctl reload = SIGHUP: the new camera appears in the same process.
    service.write_config({"clip": {"source": CLIP, "loop": False, "recognize": False}})
    namespace.systemctl("reload", UNIT)
    service.wait(lambda: '"clip"' in service.get("/api/cameras")[1], 30, "the reloaded config's camera")
    assert service.show()["MainPID"] == restarted["MainPID"], "reload restarted the process"
    assert "reload: " in namespace.journal(UNIT)

    # The only camera's clip ends → no WATCHDOG=1 → systemd aborts the daemon and restarts it.
    service.wait(lambda: service.show()["NRestarts"] == "2", 4 + WATCHDOG_SECONDS + 30,
                 "the watchdog restarting a daemon whose only camera stopped")
    assert "Watchdog timeout" in namespace.journal(UNIT), namespace.journal(UNIT)[-3000:]
    service.wait(lambda: service.show()["SubState"] == "running", 60, "the daemon back after the watchdog")

    # systemctl stop: within TimeoutStopSec=10, a clean exit, nothing of the service user left.
    started = time.monotonic()
    namespace.systemctl("stop", UNIT, timeout=30)
    stop_seconds = time.monotonic() - started
    final = service.show()
    assert final["ActiveState"] == "inactive" and final["Result"] == "success", final
    assert stop_seconds < 10, f"stop took {stop_seconds:.1f} s (TimeoutStopSec=10 would SIGKILL)"
    assert service.unit_processes() == [], service.unit_processes()
    print(f"READY after {ready_seconds:.1f} s, stop {stop_seconds:.2f} s")
