"""Logging set-up: one line per event, to stderr (journald under systemd)."""

from __future__ import annotations

import logging
import os
import sys


def setup_logging(level: str = "info") -> None:
    # journald stamps each line itself; a terminal or a file wants the time in the line.
    under_journald = bool(os.environ.get("JOURNAL_STREAM"))
    fmt = "%(levelname)s %(name)s: %(message)s" if under_journald else \
        "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
