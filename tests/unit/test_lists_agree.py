"""Lists kept in two places that must agree: the command list in `facedaemon --help` and argparse's commands; the
`test` extra in pyproject.toml and the test tools requirements-test.lock pins."""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import facedaemon.__main__ as cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_docstring_names_every_command():
    listed = cli.__doc__.split(":", 1)[1].strip().rstrip(".").split(", ")
    # argparse keeps its subcommands on the one _SubParsersAction; there is no public accessor
    commands = next(a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert listed == list(commands.choices)


def name(requirement: str) -> str:
    """A requirement's project name, normalised as PEP 503 does (pytest_xdist == pytest-xdist)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0]).lower()


def test_the_test_extra_names_the_locked_test_tools():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    # the lock's first block pins the tools themselves; below "# pulled in by the above", what they depend on
    tools = (ROOT / "requirements-test.lock").read_text().split("# pulled in by the above")[0]
    locked = [line for line in tools.splitlines() if line.strip() and not line.startswith("#")]
    assert sorted(map(name, extra)) == sorted(map(name, locked))
