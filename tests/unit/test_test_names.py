"""One name per file across the test tiers: a failure or `-k` then points at one file, and the tiers do not lean on
pytest's importlib mode to keep two modules of the same name apart. And no test module imports another: what two
modules share lives in a helper module (tests/e2e/broker.py, ...) or in devtools/."""

from __future__ import annotations

import ast
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


def imported_test_modules(path: Path) -> list[str]:
    """The test modules (test_*.py) that the file at `path` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found += [name for name in names if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")]
    return found


def test_no_test_module_imports_another() -> None:
    importing = {str(path.relative_to(TESTS)): imported_test_modules(path) for path in sorted(TESTS.rglob("*.py"))}
    assert {path: names for path, names in importing.items() if names} == {}


def test_the_import_check_sees_from_and_plain_imports_but_not_strings(tmp_path: Path) -> None:
    module = tmp_path / "test_x.py"
    module.write_text("import tests.e2e.test_mqtt\nfrom tests.e2e import test_privacy\n"
                      "from tests.e2e.broker import Subscriber\nCHILD = 'from tests.integration.test_y import v'\n")
    assert imported_test_modules(module) == ["tests.e2e.test_mqtt", "tests.e2e.test_privacy"]
