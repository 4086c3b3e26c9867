"""scripts/install-service run for real (as root) into a temp root: a service user, the venv, the config, the faces
folder the service can read and the unit, with systemctl replaced by a recorder. The install is shared with
tests/e2e/test_systemd_real.py (fixture installed_service, tests/service_install.py), which runs it under systemd."""

from __future__ import annotations

import grp
import pwd
import stat
import subprocess
from pathlib import Path

from tests.realparts import require_program


def owner(path: Path) -> tuple[str, str, int]:
    info = path.stat()
    return pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name, stat.S_IMODE(info.st_mode)


def test_install_service_into_a_temp_root(installed_service):
    paths, user, calls, stdout = (installed_service.paths, installed_service.user, installed_service.calls,
                                  installed_service.stdout)
    assert "wrote" in stdout, stdout
    account = pwd.getpwnam(user)
    assert account.pw_shell == "/usr/sbin/nologin" and account.pw_dir == str(paths["STATE_DIR"])
    assert user in grp.getgrnam("video").gr_mem, "the service user may open cameras (group video)"

    state = paths["STATE_DIR"]
    for folder in (state, state / "faces", state / "cache"):
        assert owner(folder) == (user, user, 0o750), folder
    assert owner(paths["CONF_DIR"]) == ("root", user, 0o750)
    config = paths["CONF_DIR"] / "facedaemon.yaml"
    assert owner(config) == ("root", user, 0o640)
    assert f"faces_dir: {state}/faces" in config.read_text()

    binary = paths["PREFIX"] / "venv" / "bin" / "facedaemon"
    check = subprocess.run([str(binary), "check-config", str(config)], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    helped = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "run" in helped.stdout, helped.stdout + helped.stderr

    assert calls == ["daemon-reload", "enable facedaemon.service", "restart facedaemon.service"]
    unit = paths["UNIT_DIR"] / "facedaemon.service"
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    text = unit.read_text()
    assert f"ExecStart={binary} run --config {config}" in text and f"User={user}" in text
    outside = text.replace(str(paths["PREFIX"]), "").replace(str(paths["CONF_DIR"]), "")
    assert "/opt/facedaemon" not in outside and "/etc/facedaemon/" not in outside, "every path follows the overrides"
    documented = [line.split("=", 1)[1].split() for line in text.splitlines() if line.startswith("Documentation=")]
    pages = [Path(url.removeprefix("file://")) for urls in documented for url in urls]
    assert pages and all(page.is_file() for page in pages), f"the unit's Documentation= pages are installed: {pages}"
    tool = require_program("systemd-analyze", "systemd")
    verify = subprocess.run([tool, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60)
    about_us = [line for line in (verify.stdout + verify.stderr).splitlines() if unit.name in line]
    assert verify.returncode == 0 and not about_us, f"exit {verify.returncode}:\n{verify.stdout}{verify.stderr}"
