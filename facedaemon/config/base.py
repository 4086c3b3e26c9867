"""The base of every config section: frozen, unknown keys rejected (a typo is an error, never a silent default)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
