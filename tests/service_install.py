"""scripts/install-service run once per session (as root) into a temp root, for the tests that need the installed
service: tests/integration/test_install_service.py (the files) and tests/e2e/test_systemd_real.py (under systemd).

The root is under /opt, not /tmp: the namespaced systemd gets a private /tmp and the unit PrivateTmp=yes, so the
installed venv must live where both see it. The venv is built from Debian's /usr/bin/python3 when present, as on a
Raspberry Pi (a pyenv Python under /root would be hidden from the service by ProtectHome=yes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"


@dataclass
class Installed:
    root: Path
    paths: dict[str, Path]
    user: str
    calls: list[str] = field(default_factory=list)  # what install-service asked systemctl to do
    stdout: str = ""

    @property
    def binary(self) -> Path:
        return self.paths["PREFIX"] / "venv" / "bin" / "facedaemon"

    @property
    def config(self) -> Path:
        return self.paths["CONF_DIR"] / "facedaemon.yaml"

    @property
    def unit(self) -> Path:
        return self.paths["UNIT_DIR"] / "facedaemon.service"


def install(root: Path) -> Installed:
    """Run scripts/install-service into `root` with a throwaway user and a recorder for systemctl."""
    user = f"fdtest{uuid.uuid4().hex[:8]}"
    recorder, calls = root / "systemctl", root / "systemctl.calls"
    recorder.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    recorder.chmod(0o755)
    paths = {"PREFIX": root / "opt/facedaemon", "CONF_DIR": root / "etc/facedaemon",
             "STATE_DIR": root / "var/lib/facedaemon", "UNIT_DIR": root / "etc/systemd/system"}
    env = {**os.environ, **{k: str(v) for k, v in paths.items()}, "SERVICE_USER": user, "SYSTEMCTL": str(recorder)}
    env.pop("VIRTUAL_ENV", None)
    if os.access(SYSTEM_PYTHON, os.X_OK):
        env["PYTHON"] = SYSTEM_PYTHON
    installed = Installed(root, paths, user)
    result = subprocess.run([str(REPO / "scripts" / "install-service")], env=env, capture_output=True, text=True,
                            timeout=900)
    installed.stdout = result.stdout
    if result.returncode != 0:
        remove(installed)
        raise AssertionError(f"install-service failed ({result.returncode}):\n{result.stdout[-3000:]}"
                             f"{result.stderr[-3000:]}")
    installed.calls = calls.read_text().splitlines()
    return installed


def make_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="facedaemon-test-", dir="/opt"))
    root.chmod(0o755)  # the service user walks through it to the venv
    return root


def remove(installed: Installed) -> None:
    subprocess.run(["userdel", installed.user], capture_output=True)
    shutil.rmtree(installed.root, ignore_errors=True)
