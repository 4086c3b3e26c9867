"""The configuration reference (docs/configuration.md) and the shipped example (etc/facedaemon.yaml) against the
models: the page is generated and must match; the example is hand-written and must load and mention every key."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from facedaemon.config import Config
from facedaemon.config.base import Duration, Section
from facedaemon.config.reference import HIDDEN, default_text, render, type_text

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "configuration.md"
EXAMPLE = REPO / "etc" / "facedaemon.yaml"


def fields(model: type[BaseModel], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], type[BaseModel]]]:
    """(key path, owning model) of every field under `model`, sections included, depth first."""
    for name, field in model.model_fields.items():
        yield (*path, name), model
        nested = field.annotation
        if typing.get_origin(nested) is tuple:
            nested = typing.get_args(nested)[0]
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            yield from fields(nested, (*path, name))


def test_the_page_matches_the_models() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), "docs/configuration.md is out of date: run scripts/config-docs"


def test_every_field_has_a_description() -> None:
    missing = [".".join(path) for path, model in fields(Config) if not model.model_fields[path[-1]].description]
    assert missing == [], "give these fields a description= (it is their documentation)"


def test_every_key_is_on_the_page() -> None:
    page = render()
    keys = re.findall(r"^\| `([^`]+)`", page, re.MULTILINE) + re.findall(r"^## `([^`]+)`", page, re.MULTILINE)
    shown = {key.replace(".<name>", "") for key in keys}
    assert {".".join(path) for path, _ in fields(Config) if path not in HIDDEN} - shown == set()


class Sample(Section):
    count: int = Field(1, ge=1, le=16, description="how many")
    ratio: float | None = Field(None, gt=0.0, description="a part")
    level: Literal["a", "b"] = Field("a", description="which")
    hosts: tuple[str, ...] = Field((), description="names")
    users: dict[str, str] = Field(default_factory=dict, description="who")
    keep: Duration = Field(86400.0, gt=0.0, description="how long")
    where: Path = Field(description="a folder")


@pytest.mark.parametrize(
    ("name", "type_", "default"),
    [
        ("count", "integer (≥ 1, ≤ 16)", "`1`"),
        ("ratio", "number or null (> 0)", "`null`"),
        ("level", "one of: a, b", "`a`"),
        ("hosts", "list of text", "`[]`"),
        ("users", "mapping of text to text", "`{}`"),
        ("keep", "duration (> 0s)", "`1d`"),
        ("where", "path", "required"),
    ],
)
def test_type_and_default_are_written_as_in_the_file(name: str, type_: str, default: str) -> None:
    field = Sample.model_fields[name]
    assert (type_text(field), default_text(field)) == (type_, default)


# -- the shipped example: its hand-written comments (examples, systemd advice, secrets) would not survive a
# generator, so it is checked instead. That it loads with the real loader (so every key it sets exists) is
# test_config.py's test_default_config_file_loads; here, that it names every key the models have.


def test_the_example_mentions_every_section_and_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    sections = [name for name in Config.model_fields if not re.search(rf"^(# )?{name}:", text, re.MULTILINE)]
    assert sections == [], "etc/facedaemon.yaml: add these top-level keys (set, or commented out with a comment)"
    keys = [".".join(path) for path, _ in fields(Config)
            if path not in HIDDEN and not re.search(rf"\b{path[-1]}\b", text)]
    assert keys == [], "etc/facedaemon.yaml: describe these keys"


@pytest.mark.parametrize("where", ["etc/facedaemon.yaml", "docs/configuration.md"])
def test_the_commands_they_quote_parse(where: str) -> None:
    from facedaemon.__main__ import _parser

    text = (REPO / where).read_text(encoding="utf-8")
    commands = re.findall(r"facedaemon ((?:run|check-config|hash-password)(?: [^\s`#()]+)*)", text)
    assert commands
    for command in commands:
        _parser().parse_args(command.split())  # argparse exits on an unknown option
