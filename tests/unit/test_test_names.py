"""One name per file across the test tiers: a failure or `-k` then points at one file, and the tiers do not lean on
pytest's importlib mode to keep two modules of the same name apart."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SHARED_BY_DESIGN = {"conftest.py", "__init__.py"}  # pytest loads each conftest by its path


def test_no_two_files_under_tests_share_a_name() -> None:
    places: dict[str, list[str]] = {}
    for path in sorted(TESTS.rglob("*.py")):
        if path.name not in SHARED_BY_DESIGN:
            places.setdefault(path.name, []).append(str(path.relative_to(TESTS)))
    shared = {name: where for name, where in places.items() if len(where) > 1}
    assert not shared, f"rename one of each (say what it tests): {shared}"
