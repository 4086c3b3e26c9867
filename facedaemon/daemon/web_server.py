"""The web server: one gunicorn master (with its workers) owned, checked and restarted by the daemon."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from facedaemon.children.backoff import Backoff
from facedaemon.children.process import ManagedProcess
from facedaemon.children.restarter import Restarter
from facedaemon.config.models import Config

log = logging.getLogger(__name__)

# gunicorn's own error log: "[2026-01-01 12:00:00 +0000] [123] [ERROR] message"
GUNICORN_LINE = re.compile(r"^\[[^\]]*\] \[\d+\] \[(?P<level>[A-Z]+)\] (?P<message>.*)$")
# the web app's records (facedaemon.logs.LINE_FORMAT in the worker)
APP_LINE = re.compile(r"^(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<name>[\w.]+): (?P<message>.*)$")
TRACEBACK_END = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Timeout)\b")
WORKER_CLASS = "facedaemon.web.gevent_worker.DeadlineWorker"
WORKER_CONNECTIONS = 4000  # per worker; more wait in the listen backlog


def gunicorn_args(config: Config, config_path: Path, python: str = sys.executable) -> list[str]:
    """The gunicorn command line: pure, so it is tested as a list."""
    http = config.http
    app = f"facedaemon.web.app:create_app_from_config({str(config_path.resolve())!r})"
    return [
        python, "-m", "gunicorn",
        "--bind", http.listen,
        "--workers", str(http.workers),
        # gevent with per-socket deadlines: slow or idle clients cost a greenlet, not one of a few threads.
        "--worker-class", WORKER_CLASS,
        "--worker-connections", str(WORKER_CONNECTIONS),
        "--timeout", "30",
        "--graceful-timeout", "3",  # leaves time to kill within systemd's stop timeout
        "--keep-alive", "10",  # nonzero keeps the per-request head deadline (worker.HEADER_SECONDS) in force
        "--no-sendfile",  # every reply goes through sendall, which has the send deadline
        "--limit-request-line", "4094",
        "--limit-request-fields", "50",
        "--log-level", "warning",
        "--error-logfile", "-",
        "--worker-tmp-dir", "/dev/shm" if Path("/dev/shm").is_dir() else "/tmp",
        "--name", "facedaemon-web",
        app,
    ]


class WebServer:
    def __init__(self, config: Config, config_path: Path, *, on_restart: Callable[[str], None] | None = None) -> None:
        self._argv = gunicorn_args(config, config_path)
        self._listen = config.http.listen
        self._process: ManagedProcess | None = None
        self._restarter = Restarter("web", backoff=Backoff(first=1.0, cap=30.0, healthy_after=60.0),
                                    on_restart=on_restart)

    def start(self) -> None:
        self._process = ManagedProcess(self._argv, name="gunicorn", on_line=relay_line)
        self._restarter.started()
        log.info("web: gunicorn listening on http://%s/ (pid %s)", self._listen, self._process.pid)

    def check(self, now: float | None = None) -> None:
        """Restart gunicorn with backoff if it died (port taken, crash)."""
        now = time.monotonic() if now is None else now
        process = self._process
        if process is not None and process.alive():
            return
        if process is not None:
            # A master that died (SIGKILL, OOM) leaves its workers running: they hold the listening socket, so the
            # next gunicorn could not bind until they noticed. They share its process group: end them with it.
            process.kill()
            delay = self._restarter.failed(f"gunicorn exited with {process.returncode}", now)
            log.error("web: gunicorn exited with %s; restarting in %.0f s; its last output: %s",
                      process.returncode, delay, process.stderr_tail(lines=5).replace("\n", " | ") or "(none)")
            self._process = None
        if not self._restarter.waiting(now):
            self.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._process is not None:
            self._process.stop(timeout)
            self._process = None

    @property
    def restarts(self) -> int:
        return self._restarter.restarts

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None


def relay_line(line: str) -> None:
    """Log one line of gunicorn's output as the daemon's own: the app's records under their logger and level,
    gunicorn's under facedaemon.web.gunicorn, anything else (a stray print, a crash) as a warning."""
    if match := APP_LINE.match(line):
        logging.getLogger(match["name"]).log(logging.getLevelName(match["level"]), "%s", match["message"])
    elif match := GUNICORN_LINE.match(line):
        level = logging.getLevelName(match["level"])
        _gunicorn_log.log(level if isinstance(level, int) else logging.WARNING, "%s", match["message"])
    elif line.startswith((" ", "Traceback")) or TRACEBACK_END.match(line):
        _gunicorn_log.debug("%s", line)  # the rest of a traceback whose first line was logged above
    else:
        _gunicorn_log.warning("%s", line)


_gunicorn_log = logging.getLogger("facedaemon.web.gunicorn")
