"""Status and metrics snapshots the daemon writes for the web workers (separate processes) to read."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

STATUS_FILE = "status.json"
METRICS_FILE = "metrics.prom"


def write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one. No fsync: the runtime dir is tmpfs."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_status(runtime_dir: Path, status: dict[str, Any]) -> None:
    write_atomic(runtime_dir / STATUS_FILE, json.dumps(status, separators=(",", ":")).encode())


def write_metrics(runtime_dir: Path, registry: CollectorRegistry) -> None:
    write_atomic(runtime_dir / METRICS_FILE, generate_latest(registry))
