"""A real Prometheus for the end-to-end tests, fed the shipped scrape config, rules and dashboard queries."""

from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path

import requests
import yaml

from devtools import REPO
from devtools.processes import free_port, stop_process
from tests.realparts import require_program

DASHBOARD = REPO / "etc" / "grafana" / "facedaemon-dashboard.json"
SCRAPE_CONFIG = REPO / "etc" / "prometheus" / "facedaemon.yml"
RULES = REPO / "etc" / "prometheus" / "facedaemon-rules.yml"
TARGETS = REPO / "etc" / "prometheus" / "facedaemon-targets.yml"
CAMERA = "people"  # the camera whose name replaces $camera: it has faces, so every panel has data
GRAFANA_VARIABLES = {"$device": ".*", "$camera": CAMERA, "$__rate_interval": "30s"}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def dashboard_expressions() -> list[tuple[str, str]]:
    """(panel title, PromQL with Grafana's variables replaced) for every query of every panel."""
    found = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, f"{panel['title']}: unknown variable in {target['expr']}"
            found.append((panel["title"], expr))
    return found


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def tool(name: str) -> str:
    return require_program(name, "prometheus")


class Prometheus:
    def __init__(self, tmp: Path, targets: dict[str, str | None], rules: Path = RULES) -> None:
        """`targets`: address -> device label (None: leave it to the shipped relabelling); `rules`: the shipped
        alert rules unless a test passes a copy."""
        config = yaml.safe_load(SCRAPE_CONFIG.read_text())  # the shipped example, pointed at the test daemon
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config["rule_files"] = [str(rules)]
        job = config["scrape_configs"][0]
        job["scrape_interval"] = "1s"
        groups = [{"targets": [address], **({"labels": {"device": device}} if device else {})}
                  for address, device in targets.items()]
        self.targets_path = tmp / "targets.yml"
        self.targets_path.write_text(yaml.safe_dump(groups))
        job["file_sd_configs"] = [{"files": [str(self.targets_path)], "refresh_interval": "1s"}]
        self.config_path = tmp / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "prometheus.log"
        self._tmp = tmp
        self.process: subprocess.Popen | None = None

    def check_config(self, promtool: str) -> subprocess.CompletedProcess:
        return subprocess.run([promtool, "check", "config", str(self.config_path)], capture_output=True, text=True,
                              timeout=60)

    def start(self, binary: str) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [binary, f"--config.file={self.config_path}", f"--storage.tsdb.path={self._tmp / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def api(self, path: str, **params) -> dict:
        response = requests.get(self.url + path, params=params, timeout=10)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", f"{path} {params}: {body}"
        return body["data"]

    def wait_for(self, predicate, timeout: float, what: str):
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"prometheus exited with {self.process.returncode}:\n{self.log()}"
            try:
                last = predicate()
                if last:
                    return last
            except (requests.RequestException, ValueError) as exc:
                last = exc
            time.sleep(1)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})\n{self.log()}")

    def stop(self) -> None:
        stop_process(self.process)


def finite_values(result: list[dict]) -> list[float]:
    values = [float(item["value"][1]) for item in result]
    return [value for value in values if math.isfinite(value)]
