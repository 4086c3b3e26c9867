"""What the daemon (worker/client.py) and the recognition child (worker/child.py) exchange, so neither side
imports the other: ChildSettings and Request. The entry point the parent spawns is in entry.py.

Messages (all small; frames travel through shared memory, see frames.py):
  parent → child: Request, or None to stop.
  child → parent: ("ready", summary dict) | ("result", RecognitionResult) | ("error", camera, text)
                  | ("shot", history.visits.Thumb).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facedaemon.config.models import RecognitionConfig
from facedaemon.faces.types import Box
from facedaemon.gallery.settings import GallerySettings


@dataclass(frozen=True)
class ChildSettings:
    faces_dir: Path
    cache_dir: Path | None
    recognition: RecognitionConfig
    expire_seconds: float = 1.0  # a track unseen this long is forgotten (a face coming back is encoded again)
    coast_seconds: float = 0.6  # a named track the detector missed is still reported this long
    runtime_dir: Path | None = None  # recent named faces' crops go to runtime_dir/recent/ (None: none kept)
    unknowns_dir: Path | None = None  # unknown faces' crops (None: unknowns.save is off, nothing kept)
    history: bool = False  # send ("shot", Thumb): a small picture of each named or Unknown track (history/shots.py)

    @property
    def gallery(self) -> GallerySettings:
        return GallerySettings.from_recognition(self.faces_dir, self.cache_dir, self.recognition)


@dataclass(frozen=True)
class Request:
    camera: str
    shm_name: str
    shape: tuple[int, int, int]
    frame_time: float
    hint: Box | None = None  # where the picture changed (the frame was sent early for that), full-frame pixels

