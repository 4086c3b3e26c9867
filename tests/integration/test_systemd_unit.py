"""systemd/facedaemon.service checked by systemd's own tools: `systemd-analyze verify` and `security --offline`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from facedaemon.daemon import systemd
from tests.realparts import missing, require_program

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "facedaemon.service"
MAX_EXPOSURE = 2.0
INSTALLED_BIN = "/opt/facedaemon/venv/bin/facedaemon"


def systemd_analyze() -> str:
    return require_program("systemd-analyze", "systemd")


def unit_with_repo_binary(tmp_path: Path) -> Path:
    """The unit with ExecStart* pointing at this checkout's venv: verify checks the binary exists."""
    binary = REPO / ".venv" / "bin" / "facedaemon"
    if not binary.exists():
        missing("facedaemon in .venv", f"{binary} missing: run scripts/setup first")
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text().replace(INSTALLED_BIN, str(binary)))
    return copy


def test_security_exposure_is_at_most_2(tmp_path):
    tool = systemd_analyze()
    result = subprocess.run([tool, "security", "--offline=true", "--no-pager", str(unit_with_repo_binary(tmp_path))],
                            capture_output=True, text=True, timeout=60)
    if "--offline" in result.stderr and ("unrecognized" in result.stderr or "Unknown" in result.stderr):
        missing("systemd-analyze --offline", f"systemd >= 250 needed: {result.stderr.strip()}")
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert match, f"no score in the output (exit {result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr}"
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


def test_verify_has_nothing_to_say(tmp_path):
    tool = systemd_analyze()
    unit = unit_with_repo_binary(tmp_path)
    result = subprocess.run([tool, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60)
    # Unknown keys and bad values are only warnings (exit 0): any line about our unit is a failure.
    about_us = [line for line in (result.stdout + result.stderr).splitlines() if unit.name in line]
    assert result.returncode == 0 and not about_us, f"exit {result.returncode}:\n{result.stdout}{result.stderr}"


def test_unit_keeps_what_the_daemon_needs():
    text = UNIT.read_text()
    settings = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    for needed in ("Type=notify", "NotifyAccess=main", "DeviceAllow=char-video4linux rw", "SupplementaryGroups=video",
                   "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "RuntimeDirectory=facedaemon",
                   "StateDirectory=facedaemon", "SystemCallErrorNumber=EPERM", "RestartPreventExitStatus=2"):
        assert needed in settings, needed
    assert "ProcSubset=pid" not in settings  # would hide /proc/stat and drop the facedaemon_process_* metrics
    assert "PrivateDevices=yes" not in settings  # would hide /dev/video*
    assert "#LoadCredential=" in text


def test_take_environment_leaves_nothing_for_children():
    env = {"NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "60000000", "PATH": "/usr/bin"}
    taken = systemd.take_environment(env)
    assert taken == {"NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "60000000"}
    assert env == {"PATH": "/usr/bin"}
    assert systemd.watchdog_interval(taken) == 30.0
