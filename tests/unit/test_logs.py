"""One line per event: a newline in logged data cannot forge a line; gunicorn's lines keep their level."""

from __future__ import annotations

import logging

from facedaemon.daemon.web_server import relay_line
from facedaemon.logs import OneLineFormatter


def _format(message: str, *args, exc_info=None) -> str:
    record = logging.LogRecord("facedaemon.x", logging.WARNING, __file__, 1, message, args, exc_info)
    return OneLineFormatter("%(levelname)s %(name)s: %(message)s").format(record)


def test_a_name_with_newlines_cannot_forge_a_log_line():
    line = _format("gallery: skipped %s", "Ann\nERROR facedaemon: daemon stopped\r")
    assert "\n" not in line and "\r" not in line
    assert line == "WARNING facedaemon.x: gallery: skipped Ann\\nERROR facedaemon: daemon stopped\\r"


def test_a_traceback_is_folded_into_the_same_line():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        line = _format("failed", exc_info=sys.exc_info())
    assert "\n" not in line and "ValueError: boom" in line and line.startswith("WARNING facedaemon.x: failed | ")


def test_relayed_lines_keep_logger_and_level(caplog):
    caplog.set_level(logging.DEBUG)
    relay_line("WARNING facedaemon.web.auth: web: failed login from 10.0.0.2 as 'bob' for '/'")
    relay_line("[2026-01-01 12:00:00 +0000] [123] [CRITICAL] WORKER TIMEOUT (pid:7)")
    relay_line("  File \"x.py\", line 1, in f")  # the rest of a traceback: debug only
    relay_line("TimeoutError: timed out")
    relay_line("something printed")
    got = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert got == [("facedaemon.web.auth", logging.WARNING, "web: failed login from 10.0.0.2 as 'bob' for '/'"),
                   ("facedaemon.web.gunicorn", logging.CRITICAL, "WORKER TIMEOUT (pid:7)"),
                   ("facedaemon.web.gunicorn", logging.DEBUG, '  File "x.py", line 1, in f'),
                   ("facedaemon.web.gunicorn", logging.DEBUG, "TimeoutError: timed out"),
                   ("facedaemon.web.gunicorn", logging.WARNING, "something printed")]
