"""Fixtures and hooks shared by every test layer (strict mode and the photos: see tests/realparts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realparts import STRICT, missing_parts, require_photos


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_photos: needs the shared test photos (../shared/data)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_photos") is not None:
        require_photos()


def pytest_terminal_summary(terminalreporter) -> None:
    found = sorted(set(missing_parts()))
    if not found:
        return
    mode = "tests FAILED for it (strict mode, CI=true)" if STRICT else "its tests SKIPPED: NOT tested"
    terminalreporter.section(f"{len(found)} real parts missing, {mode}", sep="!", red=True, bold=True)
    for line in found:
        terminalreporter.line(line)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_photos()
