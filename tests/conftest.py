"""Fixtures shared by every test layer: where the real test photos are."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "images" / "obama.jpg").is_file():
        pytest.skip(f"test photos not found at {SHARED_DATA} (they live beside the repo, in ../shared/data)")
    return SHARED_DATA
