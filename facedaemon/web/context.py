"""What every blueprint needs from the app: the WebContext (runtime_dir, cameras, gallery, ...) and get_context.

Its own module so the blueprints never import the app factory, which imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from facedaemon.config.auth import AuthConfig
from facedaemon.gallery.settings import GallerySettings

EXTENSION_KEY = "facedaemon"


@dataclass(frozen=True)
class WebContext:
    runtime_dir: Path
    cameras: tuple[str, ...]
    stale_after: float = 5.0
    auth: AuthConfig | None = None  # None: no login (loopback only, or auth.enabled: false)
    # faces_dir with the daemon's detector and tolerance (uploads are checked as the daemon would see them);
    # None: the faces screen and /api/faces answer 404
    gallery: GallerySettings | None = None
    unknowns_dir: Path | None = None  # None: /api/unknowns answers 404
    unknowns_save: bool = False  # whether the daemon is saving new ones (the page says so)
    unknowns_retention: float = 86400.0  # seconds; older crops are never listed or served
    allowed_hosts: frozenset[str] = frozenset()  # besides IP addresses and localhost (see web/origin.py)
    history_db: Path | None = None  # the visit history's SQLite file, read-only; None: history off (404)
    device: str = ""
    identify_per_minute: int = 60  # POST /api/identify per client (http.identify_per_minute)


def get_context(app: Flask) -> WebContext:
    context = app.extensions[EXTENSION_KEY]
    assert isinstance(context, WebContext)
    return context
