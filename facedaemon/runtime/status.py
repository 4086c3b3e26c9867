"""runtime_dir/status.json and metrics.prom: one typed schema, written by the daemon, read by the web workers.

The daemon builds a DaemonStatus and serialises it (write_status, four times a second) and writes the Prometheus
exposition (write_metrics). The web app reads them defensively: the daemon replaces the files atomically, but a
missing, partial or hand-edited file must still mean "daemon not running", never an HTTP 500. Parsing and the
health verdict are pure functions so they can be tested without files or clocks.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from facedaemon.atomic_file import write_atomic

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"
METRICS_FILE = "metrics.prom"
# status.json holds a few cameras and faces; anything far bigger is not ours and is not worth parsing.
MAX_STATUS_BYTES = 4 * 1024 * 1024
OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class FaceStatus:
    name: str
    confidence: float
    box: tuple[int, int, int, int]
    track: int | None = None  # the worker's track id (stable while the face is followed)
    distance: float | None = None  # to the named person's nearest photo; None for Unknown
    not_judged: str | None = None  # why the newest look at the face could not be judged (None: it could)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "confidence": round(float(self.confidence), 4),
                "distance": None if self.distance is None else round(float(self.distance), 4),
                "box": [int(v) for v in self.box], "track": None if self.track is None else int(self.track),
                "not_judged": self.not_judged}


@dataclass(frozen=True, slots=True)
class CameraStatus:
    state: str
    reason: str | None = None
    fps_in: float = 0.0
    fps_out: float = 0.0
    last_frame: float | None = None
    width: int | None = None
    height: int | None = None
    faces: tuple[FaceStatus, ...] = ()
    faces_time: float | None = None
    source: str | None = None  # the camera's source, credentials masked (for a person reading the file)

    def to_json(self) -> dict[str, object]:
        return {"state": self.state, "reason": self.reason, "source": self.source, "fps_in": self.fps_in,
                "fps_out": self.fps_out, "last_frame": self.last_frame, "width": self.width, "height": self.height,
                "faces": [face.to_json() for face in self.faces], "faces_time": self.faces_time}


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    updated: float
    pid: int | None
    cameras: Mapping[str, CameraStatus]
    started: float | None = None
    device: str | None = None  # the config's `device`: which daemon of a fleet wrote this

    def to_json(self) -> dict[str, object]:
        return {"device": self.device, "pid": self.pid, "updated": self.updated, "started": self.started,
                "cameras": {name: camera.to_json() for name, camera in self.cameras.items()}}


def _number(value: object) -> float | None:
    # bool is an int subclass and json accepts NaN/Infinity; neither is a usable measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _integer(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _face(raw: object) -> FaceStatus | None:
    if not isinstance(raw, Mapping):
        return None
    name = _text(raw.get("name"))
    confidence = _number(raw.get("confidence"))
    box = raw.get("box")
    if name is None or confidence is None or not isinstance(box, list | tuple) or len(box) != 4:
        return None
    sides = [_integer(side) for side in box]
    if any(side is None for side in sides):
        return None
    top, right, bottom, left = (int(side) for side in sides if side is not None)
    return FaceStatus(name=name, confidence=min(max(confidence, 0.0), 1.0), box=(top, right, bottom, left),
                      track=_integer(raw.get("track")), distance=_number(raw.get("distance")),
                      not_judged=_text(raw.get("not_judged")))


def _camera(raw: object) -> CameraStatus | None:
    if not isinstance(raw, Mapping):
        return None
    state = _text(raw.get("state"))
    if not state:
        return None
    faces_raw = raw.get("faces")
    faces = tuple(
        face for face in (_face(item) for item in faces_raw or ()) if face is not None
    ) if isinstance(faces_raw, list) else ()
    return CameraStatus(
        state=state,
        reason=_text(raw.get("reason")),
        fps_in=_number(raw.get("fps_in")) or 0.0,
        fps_out=_number(raw.get("fps_out")) or 0.0,
        last_frame=_number(raw.get("last_frame")),
        width=_integer(raw.get("width")),
        height=_integer(raw.get("height")),
        faces=faces,
        faces_time=_number(raw.get("faces_time")),
        source=_text(raw.get("source")),
    )


def parse_status(data: object) -> DaemonStatus | None:
    """Typed view of decoded status.json; None when it is not a status document at all.

    A malformed camera entry is dropped (the camera then reads as not reported) instead of failing the file.
    """
    if not isinstance(data, Mapping):
        return None
    updated = _number(data.get("updated"))
    if updated is None:
        return None
    cameras_raw = data.get("cameras")
    cameras: dict[str, CameraStatus] = {}
    if isinstance(cameras_raw, Mapping):
        for name, raw in cameras_raw.items():
            camera = _camera(raw)
            if isinstance(name, str) and camera is not None:
                cameras[name] = camera
    return DaemonStatus(updated=updated, pid=_integer(data.get("pid")), cameras=cameras,
                        started=_number(data.get("started")), device=_text(data.get("device")))


def read_status(runtime_dir: Path) -> DaemonStatus | None:
    """status.json from runtime_dir, or None if it is missing, unreadable, truncated or not valid."""
    path = runtime_dir / STATUS_FILE
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_STATUS_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        log.warning("cannot read %s: %s", path, error)
        return None
    if len(raw) > MAX_STATUS_BYTES:
        log.warning("ignoring %s: larger than %d bytes", path, MAX_STATUS_BYTES)
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        log.warning("ignoring %s: not valid JSON (%s)", path, error)
        return None
    return parse_status(data)


def is_fresh(status: DaemonStatus | None, now: float, stale_after: float) -> bool:
    return status is not None and now - status.updated < stale_after


def camera_view(status: DaemonStatus | None, camera: str, now: float, stale_after: float) -> CameraStatus:
    """What to show for one camera: the daemon's entry if the daemon is alive, else an offline placeholder."""
    if status is None:
        return CameraStatus(state=OFFLINE, reason="daemon not running (no readable status.json)")
    if not is_fresh(status, now, stale_after):
        age = now - status.updated
        return CameraStatus(state=OFFLINE, reason=f"daemon not responding (status.json {age:.1f} s old)")
    entry = status.cameras.get(camera)
    if entry is None:
        return CameraStatus(state=OFFLINE, reason="not reported by the daemon")
    return entry


def unhealthy_reasons(
    status: DaemonStatus | None, cameras: tuple[str, ...], now: float, stale_after: float
) -> dict[str, str]:
    """Camera name → why it is not healthy; empty when the daemon is fresh and every camera streams."""
    reasons: dict[str, str] = {}
    for camera in cameras:
        view = camera_view(status, camera, now, stale_after)
        if view.state != "streaming":
            reasons[camera] = f"{view.state}: {view.reason}" if view.reason else view.state
        elif view.last_frame is None:
            reasons[camera] = "streaming but no frame written yet"
        elif now - view.last_frame >= stale_after:
            reasons[camera] = f"last frame {now - view.last_frame:.1f} s ago"
    return reasons


def write_status(runtime_dir: Path, status: DaemonStatus) -> None:
    # No fsync: the runtime dir is tmpfs and the file is rewritten four times a second.
    write_atomic(runtime_dir / STATUS_FILE, json.dumps(status.to_json(), separators=(",", ":")).encode(),
                 durable=False)


def remove_status(runtime_dir: Path) -> None:
    """The daemon stopped: readers see "daemon not running" at once instead of waiting for staleness, and the
    last metrics do not stay behind in runtime_dir."""
    (runtime_dir / STATUS_FILE).unlink(missing_ok=True)
    (runtime_dir / METRICS_FILE).unlink(missing_ok=True)


def write_metrics(runtime_dir: Path, registry: CollectorRegistry) -> None:
    write_atomic(runtime_dir / METRICS_FILE, generate_latest(registry), durable=False)
