"""The one event type every part of events/ speaks: an arrival ("recognised") or a departure ("left")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RECOGNISED = "recognised"
LEFT = "left"


@dataclass(frozen=True, slots=True)
class Event:
    kind: Literal["recognised", "left"]
    camera: str
    name: str  # a gallery person, or "Unknown" for an unknown visitor (events/visitors.py)
    confidence: float
    track: int
    time: float  # unix time: the frame that showed the arrival, or the last frame that showed the person
    snapshot: str | None = None  # URL of the arrival's picture (events.snapshots), set by the hub

    def to_json(self) -> dict:
        body = {"event": self.kind, "camera": self.camera, "name": self.name,
                "confidence": round(float(self.confidence), 4), "track": int(self.track),
                "time": round(float(self.time), 3)}
        return body if self.snapshot is None else {**body, "snapshot": self.snapshot}
