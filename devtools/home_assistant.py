"""A real Home Assistant for the tests: installed from a committed lock file (with hashes) into its own venv in a
cache outside the checkout, configured with only what the tests use, onboarded over REST, and its MQTT integration
added through the config-entry flow, bound to 127.0.0.1.

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

from devtools import REPO
from devtools.processes import free_port

HA_VERSION = "2024.1.6"  # the oldest series the docs claim, and the last one for Python 3.11
HA_PYTHON = "python3.11"
LOCK = REPO / "tests" / "homeassistant-2024.1.lock"
CACHE = Path(os.environ.get("FACEDAEMON_TEST_CACHE", Path.home() / ".cache" / "facedaemon-tests"))
INSTALL_TIMEOUT = 900  # pip alone: minutes on a quiet machine, more on a loaded one
CLIENT_ID_PATH = "/"
USER, PASSWORD = "facedaemon", "facedaemon-test-password"


class Unavailable(Exception):
    """Home Assistant cannot be had here (no Python 3.11, the install failed): the reason, in words."""


def venv_for(lock: Path = LOCK) -> Path:
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:12]
    return CACHE / f"ha-{HA_VERSION}-{digest}"


def install(lock: Path = LOCK) -> Path:
    """The venv with Home Assistant from `lock` (made once: a stamp marks a finished install; a half-made one is
    made again). Raises Unavailable with the reason. FACEDAEMON_HA_VENV: a venv of your own instead."""
    if own := os.environ.get("FACEDAEMON_HA_VENV"):
        return Path(own)
    venv = venv_for(lock)
    stamp = venv / ".installed"
    if stamp.is_file():
        return venv
    python = shutil.which(HA_PYTHON)
    if python is None:
        raise Unavailable(f"{HA_PYTHON} not found (Home Assistant {HA_VERSION} needs Python 3.11)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    log = venv.with_name(venv.name + ".log")
    started = time.monotonic()
    try:
        # the venv is made where it will stay (a venv cannot move: its scripts name their interpreter's path);
        # --no-compile: pip would byte-compile all of HA's thousands of modules; Python compiles those HA imports
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        with log.open("wb") as out:
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                            "--require-hashes", "--no-deps", "--no-compile", "-r", str(lock)], check=True, stdout=out,
                           stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
        shutil.rmtree(venv, ignore_errors=True)
        raise Unavailable(f"installing Home Assistant {HA_VERSION} from {lock.name} failed: {exc}\n{tail}") from exc
    stamp.write_text(f"{HA_VERSION} installed in {time.monotonic() - started:.0f} s\n")
    log.unlink(missing_ok=True)
    for stale in CACHE.glob("ha-*"):  # installs of earlier lock files: a venv is a few hundred MB
        if stale != venv and (stale / ".installed").is_file():
            shutil.rmtree(stale, ignore_errors=True)
    return venv


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

    venv: Path
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
        self.process = subprocess.Popen([str(self.venv / "bin" / "hass"), "-c", str(self.config_dir), "--skip-pip",
                                         "--log-no-color"], stdout=console, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
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
        done = self.post(f"/api/config/config_entries/flow/{flow['flow_id']}",
                         {"broker": "127.0.0.1", "port": broker_port})
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
