"""Three daemons on one host standing in for three devices: distinct device names, ports, runtime and faces folders.

`require` finds a real engine (mosquitto, prometheus, syncthing) through tests/realparts.py: missing, the test skips
with a loud reason on a developer's machine and FAILS in strict mode (CI=true).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devtools.daemon import Daemons, RunningDaemon, write_config
from tests.realparts import require_program

DEVICES = ("pi1", "pi2", "pi3")
# The fleets' clips play at 10 fps, not 30: three daemons share two cores, and a third of the decoding, drawing and
# encoding leaves the CPU to recognition, which is what the fleet tests wait for (none of them measures frame rates).
FLEET_FPS = 10


def require(binary: str, package: str) -> str:
    """tests/realparts.py decides: skip loudly on a developer's machine, FAIL in strict mode (CI=true)."""
    return require_program(binary, package, "/usr/sbin:/usr/local/sbin:/sbin:/usr/bin")


@dataclass
class Device:
    name: str
    tmp: Path
    config_path: Path
    port: int
    daemons: Daemons  # the test's run_daemon: whatever the test does, its teardown stops every daemon
    daemon: RunningDaemon | None = None

    def start(self) -> RunningDaemon:
        self.daemon = self.daemons.start(self.tmp, self.config_path, self.port, ready=None)
        return self.daemon

    def stop(self) -> list[str]:
        if self.daemon is None:
            return []
        self.daemon.stop()
        left = self.daemon.kill_leftovers()
        self.daemon = None
        return left


def make_fleet(tmp: Path, cameras: dict, faces_of, daemons: Daemons, **overrides) -> list[Device]:
    """One Device per name in DEVICES, each with its own folder; faces_of(device_tmp) builds its faces_dir;
    `daemons` (run_daemon or run_module_daemon) starts them."""
    fleet = []
    for name in DEVICES:
        where = tmp / name
        where.mkdir(parents=True, exist_ok=True)
        config_path, port = write_config(where, cameras, faces_of(where), device=name, **overrides)
        fleet.append(Device(name, where, config_path, port, daemons))
    return fleet


def stop_fleet(fleet: list[Device]) -> list[str]:
    left: list[str] = []
    for device in fleet:
        left += device.stop()
    return left
