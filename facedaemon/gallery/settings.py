"""The five settings every gallery operation needs, built in one place (from the config) so that no caller
can forget one: the web's enrolment once checked uploads with HOG because it did not pass `model`.

Every entry point into the gallery (load_gallery, edit.enroll, listing, run_identify, ...) takes this object, and
none has a detector or tolerance default of its own: a caller without settings gets a TypeError, not a guess."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from facedaemon.config.models import Config, RecognitionConfig  # types only: the web imports this module


@dataclass(frozen=True)
class GallerySettings:
    faces_dir: Path
    cache_dir: Path | None
    model: str  # detector for gallery photos: the daemon's recognition.model
    tolerance: float  # recognition.tolerance: how far a new photo may be from the person's others
    upsample: int = 1  # gallery photos are portraits: the live recognition.upsample is not used for them

    @classmethod
    def from_config(cls, config: Config) -> GallerySettings:
        return cls.from_recognition(Path(config.faces_dir), Path(config.encodings_cache_dir), config.recognition)

    @classmethod
    def from_recognition(cls, faces_dir: Path, cache_dir: Path | None, recognition: RecognitionConfig
                         ) -> GallerySettings:
        """The gallery of a recognition section: the recognition child's and `facedaemon identify`'s."""
        return cls(faces_dir=faces_dir, cache_dir=cache_dir, model=recognition.model,
                   tolerance=recognition.tolerance)
