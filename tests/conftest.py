"""Fixtures and hooks shared by every test layer (strict mode and the photos: see tests/realparts.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import fuzz_profiles, service_install
from tests.realparts import MISSING_PREFIX, STRICT, missing, require_photos


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_photos: needs the shared test photos (../shared/data)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_photos") is not None:
        require_photos()


fuzz_profiles.load()  # before any test module builds its @settings

MISSING_LINE = re.compile(re.escape(MISSING_PREFIX) + r"[^\n]*?(?= \(strict mode|'\)|$)", re.M)
_reported: set[str] = set()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Read from the reports, not from a list in this process: under pytest-xdist the tests (and their `missing`
    # calls) run in worker processes, and only their reports reach the process that prints the summary.
    if report.skipped or report.failed:
        _reported.update(MISSING_LINE.findall(str(report.longrepr)))


def pytest_terminal_summary(terminalreporter) -> None:
    found = sorted(_reported)
    if not found:
        return
    mode = "tests FAILED for it (strict mode, CI=true)" if STRICT else "its tests SKIPPED: NOT tested"
    terminalreporter.section(f"{len(found)} real parts missing, {mode}", sep="!", red=True, bold=True)
    for line in found:
        terminalreporter.line(line)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_photos()


@pytest.fixture(scope="session")
def installed_service() -> Iterator[service_install.Installed]:
    """scripts/install-service run once (as root) into a temp root under /opt; removed with its user at the end."""
    if os.geteuid() != 0:
        missing("root", "scripts/install-service must run as root")
    installed = service_install.install(service_install.make_root())
    try:
        yield installed
    finally:
        service_install.remove(installed)
