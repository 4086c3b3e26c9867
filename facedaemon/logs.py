"""Logging set-up: one line per event, to stderr (journald under systemd)."""

from __future__ import annotations

import logging
import os
import sys

LINE_FORMAT = "%(levelname)s %(name)s: %(message)s"


class OneLineFormatter(logging.Formatter):
    """Every record is exactly one line: a newline in a message (a folder name, a header) is shown as \\n, so it
    cannot forge a second log line, and a traceback is folded into the same line with ' | '."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record).replace("\r", "\\r").replace("\n", "\\n")

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", " | ")


def setup_logging(level: str = "info", *, timestamps: bool | None = None) -> None:
    # journald stamps each line itself; a terminal or a file wants the time in the line.
    if timestamps is None:
        timestamps = not os.environ.get("JOURNAL_STREAM")
    fmt = f"%(asctime)s {LINE_FORMAT}" if timestamps else LINE_FORMAT
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
