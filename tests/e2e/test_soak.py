"""The 2-minute soak CI runs: three cameras on the real daemon, no resource keeps growing."""

from __future__ import annotations

import subprocess

import pytest

from facedaemon.bench.soak import Sample, growth
from tests.e2e.daemon import REPO

pytestmark = pytest.mark.e2e


def test_growth_compares_the_last_quarter_with_the_second():
    flat = [Sample(i, 100.0, 50, 40, 8) for i in range(12)]
    leaking = [Sample(i, 100.0 + 10 * i, 50 + i, 40, 8) for i in range(12)]
    assert all(change == 0 for change in growth(flat).values())
    assert growth(leaking)["rss_mib"] > 0.05 and growth(leaking)["open_files"] > 0.05


def test_two_minute_soak_shows_no_growth():
    result = subprocess.run([str(REPO / "scripts" / "soak"), "--minutes", "2", "--interval", "5"],
                            capture_output=True, text=True, timeout=400, cwd=REPO)
    print(result.stdout)
    assert "soak: passed" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0
