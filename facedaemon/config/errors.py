"""What is wrong with a config file, worded for a person: `Problem` (file, line, key path, reason), `ConfigError`,
and the turning of pydantic's error records and odd values into short reasons. Pure: no I/O.
"""

from __future__ import annotations

import difflib
import reprlib
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from facedaemon.config.models import CameraConfig, Config
from facedaemon.redact import mask_credentials

KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file."""

    file: str
    line: int | None
    path: str  # dotted key path, "" for the file itself
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return mask_credentials(f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}")


class ConfigError(Exception):
    """The config file cannot be used; ``problems`` lists every reason found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.path))
        super().__init__("\n".join(str(problem) for problem in self.problems))


def unknown_key(loc: tuple[Any, ...]) -> str:
    """'unknown key ...' for pydantic's `loc`, with the closest known key of that section when one is close."""
    key = str(loc[-1])
    message = f"unknown key '{key}'"
    model = _model_at(loc[:-1])
    if model is not None:
        known = [name for name in model.model_fields if not (model is CameraConfig and name == "name")]
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            message += f" (did you mean '{close[0]}'?)"
    return message


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` (indexes of tuples skipped)."""
    model: type[BaseModel] = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        if typing.get_origin(annotation) is tuple:
            annotation = typing.get_args(annotation)[0]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


_REASONS = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "too_short": "must have at least {min_length} item(s)",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "string_unicode": "must be text",
    "path_type": "must be a path",
    "model_type": "must be a mapping of settings",
    "dict_type": "must be a mapping of settings",
    "tuple_type": "must be a list",
}


def reason(error: dict[str, Any]) -> str:
    """One of pydantic's error records as a short reason ('must be at least 1'), without the value."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error") or error["msg"])
    template = _REASONS.get(kind)
    if template is None:
        message = str(error["msg"])
        return message[:1].lower() + message[1:]
    try:
        return template.format(**{key: _number(value) for key, value in ctx.items()})
    except (KeyError, IndexError):
        return template.split(" {")[0]


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def show(value: Any) -> str:
    """A short, YAML-flavoured rendering of a value for messages (credentials masked later)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    # Bounded repr: a YAML alias bomb must not turn one error message into gigabytes.
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 2, 60, 60
    short.maxlist = short.maxtuple = short.maxset = short.maxfrozenset = short.maxdict = 4
    return short.repr(value)
