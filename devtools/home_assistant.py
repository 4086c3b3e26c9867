"""A real Home Assistant for the tests: one per series (SERIES), installed from a committed lock file (with hashes)
into its own venv in a cache outside the checkout (inside a Debian chroot when the machine lacks the series'
Python: devtools/ha_chroot.py), configured with only what the tests use, onboarded over REST, and its MQTT
integration added through the config-entry flow, bound to 127.0.0.1.

install() makes the venv once per lock file (its hash names the folder); HomeAssistant runs `hass` from it and
talks to its REST API (and its template API, which reads the entity and device registries).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devtools import REPO, ha_chroot
from devtools.ha_chroot import Chroot, ChrootUnavailable
from devtools.processes import free_port

CACHE = Path(os.environ.get("FACEDAEMON_TEST_CACHE", Path.home() / ".cache" / "facedaemon-tests"))
INSTALL_TIMEOUT = 900  # pip alone: minutes on a quiet machine, more on a loaded one
CLIENT_ID_PATH = "/"
USER, PASSWORD = "facedaemon", "facedaemon-test-password"


@dataclass(frozen=True)
class Series:
    """One Home Assistant series the suite runs: its version (one constant), lock file and Python; `debian`: the
    Debian suite whose chroot gives that Python (devtools/ha_chroot.py), None when the machine's own is used."""

    version: str
    python: str
    debian: str | None = None

    @property
    def name(self) -> str:
        return self.version.rsplit(".", 1)[0]

    @property
    def lock(self) -> Path:
        return REPO / "tests" / f"homeassistant-{self.name}.lock"


# The series docs/events.md says are tested: the oldest the docs claim (the last for Python 3.11) and the current
# release (Python >= 3.14.2: Debian unstable's).
SERIES = (Series("2024.1.6", "python3.11"), Series("2026.11.0", "python3.14", debian="sid"))


class Unavailable(Exception):
    """Home Assistant cannot be had here (no such Python, no chroot, the install failed): the reason, in words."""


@dataclass(frozen=True)
class Installed:
    """Home Assistant installed: `venv` (a path in the chroot when `chroot` is set)."""

    series: Series
    venv: Path
    chroot: Chroot | None = None

    def command(self, config_dir: Path) -> list[str]:
        hass = [str(self.venv / "bin" / "hass"), "--skip-pip", "--log-no-color"]
        if self.chroot is None:
            return [*hass, "-c", str(config_dir)]
        return self.chroot.command([*hass, "-c", CHROOT_CONFIG], binds={config_dir: CHROOT_CONFIG})

    def env(self) -> dict[str, str] | None:
        return dict(ha_chroot.ENV) if self.chroot is not None else None


CHROOT_CONFIG = "/mnt/config"  # made by Chroot.make(); each HA's own config folder is bound there


def chroot_for(series: Series) -> Chroot:
    python = series.python
    return Chroot(series.debian or "", (python, f"{python}-venv", "ca-certificates"), CACHE / f"chroot-{series.debian}")


def venv_name(series: Series) -> str:
    digest = hashlib.sha256(series.lock.read_bytes()).hexdigest()[:12]
    return f"ha-{series.version}-{digest}"


def install(series: Series = SERIES[0]) -> Installed:
    """Home Assistant of `series` from its lock (made once: a stamp marks a finished install; a half-made one is
    made again), in a chroot when the series says so. Raises Unavailable with the reason. FACEDAEMON_HA_VENV: a
    venv of your own for the machine's own series."""
    if series.debian is not None:
        return _install_in_chroot(series)
    if own := os.environ.get("FACEDAEMON_HA_VENV"):
        return Installed(series, Path(own))
    venv = CACHE / venv_name(series)
    if (venv / ".installed").is_file():
        return Installed(series, venv)
    python = shutil.which(series.python)
    if python is None:
        raise Unavailable(f"{series.python} not found (Home Assistant {series.version} needs it)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    _pip_install(series, venv, [python, "-m", "venv", str(venv)], [str(venv / "bin" / "python")],
                 str(series.lock), None, venv.with_name(venv.name + ".log"))
    _drop_stale(CACHE, f"ha-{series.name}.", venv)
    return Installed(series, venv)


def _install_in_chroot(series: Series) -> Installed:
    chroot = chroot_for(series)
    try:
        chroot.make(CACHE / f"chroot-{series.debian}.log")
    except ChrootUnavailable as exc:
        raise Unavailable(f"Home Assistant {series.version} needs {series.python}: {exc}") from exc
    inside = Path("/opt") / venv_name(series)
    venv = chroot.root / inside.relative_to("/")
    if (venv / ".installed").is_file():
        return Installed(series, inside, chroot)
    lock = Path("/opt") / f"{venv_name(series)}.lock"
    shutil.copyfile(series.lock, chroot.root / lock.relative_to("/"))
    # truststore: pip checks the certificates with the system's store (the host's bundle, bound in), as the
    # host's pip does; the chroot's Python alone refuses a proxy CA that lacks the extensions 3.13+ ask for
    _pip_install(series, venv, chroot.command([series.python, "-m", "venv", str(inside)]),
                 chroot.command([str(inside / "bin" / "python")]), str(lock), chroot,
                 CACHE / f"{venv_name(series)}.log", ["--use-feature=truststore"])
    _drop_stale(chroot.root / "opt", f"ha-{series.name}.", venv)
    return Installed(series, inside, chroot)


def _pip_install(series: Series, venv: Path, make_venv: list[str], python: list[str], lock: str,
                 chroot: Chroot | None, log: Path, extra: list[str] | None = None) -> None:
    """Make the venv (where it will stay: a venv cannot move, its scripts name their interpreter's path) and
    install the lock into it; `venv` is its host path, for the stamp."""
    env = dict(ha_chroot.ENV) if chroot is not None else None
    started = time.monotonic()
    try:
        # --no-compile: pip would byte-compile all of HA's thousands of modules; Python compiles those HA imports
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run(make_venv, check=True, capture_output=True, timeout=120, env=env)
        with log.open("wb") as out:
            subprocess.run([*python, "-m", "pip", "install", "--disable-pip-version-check", "--require-hashes",
                            "--no-deps", "--no-compile", *(extra or []), "-r", lock], check=True, stdout=out,
                           stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT, env=env)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
        shutil.rmtree(venv, ignore_errors=True)
        raise Unavailable(f"installing Home Assistant {series.version} from {series.lock.name} failed: {exc}\n"
                          f"{tail}") from exc
    (venv / ".installed").write_text(f"{series.version} installed in {time.monotonic() - started:.0f} s\n")
    log.unlink(missing_ok=True)


def _drop_stale(folder: Path, prefix: str, keep: Path) -> None:
    """Installs of a series' earlier lock files: a venv is a few hundred MB."""
    for stale in folder.glob(f"{prefix}*"):
        if stale != keep and stale.is_dir() and (stale / ".installed").is_file():
            shutil.rmtree(stale, ignore_errors=True)
        elif stale.suffix == ".lock" and stale.stem != keep.name:  # the lock copied into a chroot for pip
            stale.unlink(missing_ok=True)


CONFIGURATION = """\
homeassistant:
  name: facedaemon test
  latitude: 52.37
  longitude: 4.89
  elevation: 0
  unit_system: metric
  time_zone: UTC
  country: NL
  currency: EUR
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
config:
onboarding:
websocket_api:
device_automation:
image:
automation: !include automations.yaml
logger:
  default: warning
"""


@dataclass
class HomeAssistant:
    """One Home Assistant process on 127.0.0.1:port with its config folder; start() / stop() / restart()."""

    installed: Installed
    config_dir: Path
    port: int = field(default_factory=free_port)
    token: str | None = None
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.config_dir / "home-assistant.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""

    def start(self, timeout: float = 180) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "configuration.yaml").write_text(CONFIGURATION.format(port=self.port))
        automations = self.config_dir / "automations.yaml"
        if not automations.exists():
            automations.write_text("[]\n")
        console = (self.config_dir / f"console-{self.starts}.log").open("wb")
        # --skip-pip: everything comes from the lock; nothing is installed at run time
        self.process = subprocess.Popen(self.installed.command(self.config_dir), stdout=console,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                        env=self.installed.env())
        console.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while not self._running():
            if self.process.poll() is not None:
                raise AssertionError(f"Home Assistant exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"Home Assistant did not start within {timeout:.0f} s:\n{self.log()[-3000:]}")
            time.sleep(0.5)

    def _running(self) -> bool:
        try:
            if self.token is None:  # before onboarding: the onboarding view answers once HTTP is up
                return requests.get(f"{self.url}/api/onboarding", timeout=2).status_code == 200
            response = requests.get(f"{self.url}/api/config", headers=self.headers, timeout=2)
            return response.status_code == 200 and response.json().get("state") == "RUNNING"
        except requests.RequestException:
            return False

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM (HA saves its registries and stops), SIGKILL to its process group if it overruns."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    # -- REST ---------------------------------------------------------------------------------------------------
    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def onboard(self) -> None:
        """Create the owner (/api/onboarding/users) and log in (/auth/token): self.token."""
        client_id = self.url + CLIENT_ID_PATH
        created = requests.post(f"{self.url}/api/onboarding/users", timeout=30, json={
            "client_id": client_id, "name": "facedaemon", "username": USER, "password": PASSWORD,
            "language": "en"})
        assert created.status_code == 200, created.text
        token = requests.post(f"{self.url}/auth/token", timeout=30, data={
            "grant_type": "authorization_code", "code": created.json()["auth_code"], "client_id": client_id})
        assert token.status_code == 200, token.text
        self.token = token.json()["access_token"]

    def add_mqtt(self, broker_port: int) -> dict:
        """The MQTT integration through its config-entry flow, pointed at 127.0.0.1:broker_port."""
        flow = self.post("/api/config/config_entries/flow", {"handler": "mqtt", "show_advanced_options": False})
        assert flow.get("type") == "form", flow
        answer: dict = {"broker": "127.0.0.1", "port": broker_port}
        if any(field.get("name") == "other_settings" for field in flow.get("data_schema", [])):
            # newer HA (a section of the broker step): no client certificate, no broker verification, plain TCP
            answer["other_settings"] = {"set_client_cert": False, "set_ca_cert": "off", "transport": "tcp"}
        done = self.post(f"/api/config/config_entries/flow/{flow['flow_id']}", answer)
        assert done.get("type") == "create_entry", done
        return done

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, headers=self.headers, timeout=30, **kwargs)

    def post(self, path: str, body: dict) -> dict:
        response = requests.post(self.url + path, headers=self.headers, json=body, timeout=30)
        assert response.status_code in (200, 201), f"POST {path}: {response.status_code} {response.text}"
        return response.json()

    def states(self) -> dict[str, dict]:
        response = self.get("/api/states")
        assert response.status_code == 200, response.text
        return {state["entity_id"]: state for state in response.json()}

    def template(self, text: str) -> str:
        """Render a template in HA (its registries: integration_entities, device_id, device_attr ...)."""
        response = requests.post(f"{self.url}/api/template", headers=self.headers, json={"template": text},
                                 timeout=30)
        assert response.status_code == 200, response.text
        return response.text
