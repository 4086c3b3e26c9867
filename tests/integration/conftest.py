"""make_client: a Flask test client of the real web app over a WebContext, one way for every web test.
gallery: a faces folder of copies of the shared photos and its GallerySettings, one way for every gallery test."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Collection
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from facedaemon.config.models import RecognitionConfig
from facedaemon.gallery.settings import GallerySettings
from facedaemon.web.app import create_app
from facedaemon.web.context import WebContext

PEOPLE = {"Obama": ("obama2.jpg", "obama3.jpg"), "Biden": ("biden.jpg",)}  # each person's shared photos


@pytest.fixture
def make_client(tmp_path: Path) -> Callable[..., FlaskClient]:
    """make_client(**context) -> test client; WebContext's fields, runtime_dir defaulting to tmp_path/'run'
    (made) and cameras to ('door',)."""
    def make(**context) -> FlaskClient:
        if "runtime_dir" not in context:
            context["runtime_dir"] = tmp_path / "run"
            context["runtime_dir"].mkdir(exist_ok=True)
        context.setdefault("cameras", ("door",))
        return create_app(WebContext(**context)).test_client()

    return make


@pytest.fixture(scope="session")
def gallery(shared_data: Path) -> Callable[..., GallerySettings]:
    """gallery(base, "Obama", "Biden", flat=False, each=None, **settings) -> GallerySettings of base/'faces' (made)
    with copies of each person's shared photos, cache base/'cache', and the config's recognition defaults.

    Folder layout faces/<person>/<photo>; flat (True, or the names it applies to): faces/<person>.jpg, the person's
    first photo; each: only the first so many photos per person. **settings replace fields (model="hog",
    cache_dir=None, upsample=0, ...)."""
    def make(base: Path, *people: str, flat: bool | Collection[str] = False, each: int | None = None,
             **settings) -> GallerySettings:
        faces = base / "faces"
        faces.mkdir(parents=True, exist_ok=True)
        for person in people:
            one_file = flat is True or (flat is not False and person in flat)
            for photo in PEOPLE[person][:1 if one_file else each]:
                target = faces / f"{person}.jpg" if one_file else faces / person / photo
                target.parent.mkdir(exist_ok=True)
                shutil.copyfile(shared_data / "images" / photo, target)
        defaults = GallerySettings.from_recognition(faces, base / "cache", RecognitionConfig())
        return dataclasses.replace(defaults, **settings)

    return make
