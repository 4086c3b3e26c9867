"""Real Syncthing instances on loopback for the fleet tests: own homes, API keys and 127.0.0.1 ports; no global or
local discovery, relays, NAT traversal, usage or crash reporting, upgrades. Each is stopped by its pid."""

from __future__ import annotations

import contextlib
import re
import secrets
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import requests

from devtools.processes import free_port, stop_process

FOLDER = "facedaemon-faces"
OFF = {"globalAnnounceEnabled": "false", "localAnnounceEnabled": "false", "relaysEnabled": "false",
       "natEnabled": "false", "startBrowser": "false", "urAccepted": "-1", "autoUpgradeIntervalH": "0",
       "crashReportingEnabled": "false"}


class Syncthing:
    def __init__(self, binary: str, home: Path, name: str) -> None:
        self.binary, self.home, self.name = binary, home, name
        self.port, self.gui_port = free_port(), free_port()
        self.api_key = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.gui_port}"
        self.log_path = home.parent / f"syncthing-{name}.log"
        self.process: subprocess.Popen | None = None
        self.device_id = self._generate()

    def _generate(self) -> str:
        done = subprocess.run([self.binary, "generate", f"--home={self.home}", "--no-default-folder"],
                              capture_output=True, text=True, timeout=60)
        found = re.search(r"Device ID: ([A-Z0-9-]{63})", done.stdout + done.stderr)
        assert done.returncode == 0 and found, done.stdout + done.stderr
        config = self.home / "config.xml"
        tree = ET.parse(config)
        options = tree.getroot().find("options")
        for key, value in OFF.items():
            element = options.find(key)
            if element is None:
                element = ET.SubElement(options, key)
            element.text = value
        for element in options.findall("listenAddress"):
            options.remove(element)
        ET.SubElement(options, "listenAddress").text = f"tcp://127.0.0.1:{self.port}"
        gui = tree.getroot().find("gui")
        gui.find("address").text = f"127.0.0.1:{self.gui_port}"
        gui.find("apikey").text = self.api_key
        tree.write(config)
        return found.group(1)

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [self.binary, "serve", f"--home={self.home}", "--no-browser", "--no-restart", "--no-upgrade"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={"PATH": "/usr/bin:/bin", "HOME": str(self.home), "STNODEFAULTFOLDER": "1"})
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, self.log()
            with contextlib.suppress(requests.RequestException):
                if self.api("GET", "/rest/system/ping").get("ping") == "pong":
                    return
            assert time.monotonic() < deadline, f"syncthing {self.name} did not answer within 60 s\n{self.log()}"
            time.sleep(0.3)

    def api(self, method: str, path: str, body: object = None) -> dict:
        response = requests.request(method, self.url + path, json=body, timeout=10,
                                    headers={"X-API-Key": self.api_key})
        assert response.status_code < 300, f"{self.name} {method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content and "json" in response.headers.get("content-type", "") else {}

    def share(self, path: Path, peers: list[Syncthing]) -> None:
        """Know the peers (by 127.0.0.1 address) and share `path` with them as a send-receive folder."""
        for peer in peers:
            self.api("POST", "/rest/config/devices", {"deviceID": peer.device_id, "name": peer.name,
                                                      "addresses": [f"tcp://127.0.0.1:{peer.port}"]})
        devices = [{"deviceID": peer.device_id} for peer in [self, *peers]]
        self.api("POST", "/rest/config/folders", {"id": FOLDER, "label": "faces", "path": str(path),
                                                  "type": "sendreceive", "devices": devices})

    def connected(self) -> set[str]:
        connections = self.api("GET", "/rest/system/connections")["connections"]
        return {device for device, state in connections.items() if state.get("connected")}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)
