"""The base of every config section: frozen, unknown keys rejected (a typo is an error, never a silent default)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

from facedaemon.config.durations import parse_duration

# Seconds, written as a number or as '30m', '24h', '7d' (config/durations.py).
Duration = Annotated[float, BeforeValidator(parse_duration)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
