"""run_daemon: start the real daemon, wait until it is ready, and ALWAYS stop and reap it at teardown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.browser import find_chromium
from devtools.daemon import Daemons
from tests.realparts import missing


def _run(daemons: Daemons) -> Iterator[Daemons]:
    try:
        yield daemons
    finally:
        left = daemons.close()
    assert not left, f"processes the daemon left behind (killed now): {left}"


@pytest.fixture
def run_daemon() -> Iterator[Daemons]:
    """run_daemon(tmp_path, cameras, faces_dir=None, env=None, ready=healthy, timeout=120, **config) -> RunningDaemon"""
    yield from _run(Daemons())


@pytest.fixture(scope="module")
def run_module_daemon() -> Iterator[Daemons]:
    """run_daemon for a module-scoped fixture (one daemon shared by the module's tests)."""
    yield from _run(Daemons())


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        missing("chromium", "Debian's chromium is not installed (tests/debian-packages.txt; scripts/test-deps as root)")
    return path
