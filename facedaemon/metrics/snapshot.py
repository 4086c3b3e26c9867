"""Status and metrics snapshots the daemon writes for the web workers (separate processes) to read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from facedaemon.atomic_file import write_atomic

STATUS_FILE = "status.json"
METRICS_FILE = "metrics.prom"


def write_status(runtime_dir: Path, status: dict[str, Any]) -> None:
    # No fsync: the runtime dir is tmpfs and the file is rewritten four times a second.
    write_atomic(runtime_dir / STATUS_FILE, json.dumps(status, separators=(",", ":")).encode(), durable=False)


def write_metrics(runtime_dir: Path, registry: CollectorRegistry) -> None:
    write_atomic(runtime_dir / METRICS_FILE, generate_latest(registry), durable=False)
