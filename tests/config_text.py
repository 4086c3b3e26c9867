"""A daemon config from YAML text, for tests: the sections under test above two pattern cameras (door recognises,
yard does not), loaded as if from /tmp/c.yaml."""

from __future__ import annotations

from pathlib import Path

from facedaemon.config import Config, load_text

TWO_CAMERAS = """
faces_dir: faces
runtime_dir: run
cameras:
  door: {source: pattern}
  yard: {source: pattern, recognize: false}
"""


def config(extra: str = "", base: str = TWO_CAMERAS) -> Config:
    return load_text(extra + base, source="c.yaml", base_dir=Path("/tmp"))
