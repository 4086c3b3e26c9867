"""Password guessing against the real gunicorn with 3 workers: the per-address limit holds for all workers
together, and rotating addresses cannot buy more password checks than the global budget."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from devtools import REPO

pytestmark = pytest.mark.e2e


def _load_bench():
    spec = importlib.util.spec_from_file_location("login_attempts", REPO / "scripts/benchmarks/login_attempts.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def test_three_workers_share_the_per_address_limit():
    result = bench.measure(workers=3, addresses=2, seconds=8, parallel=6)
    # 10 failures per address per minute (auth.max_failures), whichever worker answers
    assert result["answers"].get("401", 0) <= 2 * 10, result
    assert result["answers"].get("429", 0) > 0, result


def test_rotating_addresses_get_no_more_than_the_global_budget():
    result = bench.measure(workers=3, addresses=200, seconds=8, parallel=12)
    # auth.max_checks_per_second = 2 for the whole device (+1 for the second the run straddles)
    assert result["answers"].get("401", 0) <= 2 * (8 + 1), result
    assert "error" not in result["answers"], result
