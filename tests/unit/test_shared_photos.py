"""The one definition of where the shared test photos are (facedaemon/bench/photos.py, re-exported by devtools)."""

from __future__ import annotations

from pathlib import Path

import devtools
from facedaemon.bench import photos


def test_the_variable_wins(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(photos.ENV, str(tmp_path))
    assert photos.shared_data() == tmp_path.resolve()
    assert devtools.shared_data() == tmp_path.resolve()


def test_without_it_the_folder_beside_the_checkout(monkeypatch) -> None:
    monkeypatch.delenv(photos.ENV, raising=False)
    beside = (devtools.REPO.parent / "shared" / "data").resolve()
    assert photos.own_checkout() == devtools.REPO
    assert photos.shared_data() == beside and devtools.shared_data() == beside


def test_an_installed_package_has_no_default(monkeypatch) -> None:
    monkeypatch.delenv(photos.ENV, raising=False)
    monkeypatch.setattr(photos, "own_checkout", lambda: None)  # as in site-packages: no pyproject.toml above
    assert photos.shared_data() is None
