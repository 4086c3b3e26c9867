"""make_client: a Flask test client of the real web app over a WebContext, one way for every web test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from facedaemon.web.app import create_app
from facedaemon.web.context import WebContext


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
