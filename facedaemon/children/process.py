"""Owner of one child process: its own process group, a bounded log tail, and a stop that always reaps."""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from facedaemon.redact import mask_credentials

log = logging.getLogger(__name__)

TAIL_LINES = 50


class ManagedProcess:
    """Starts `argv` at construction (raises OSError if it cannot be executed).

    The child leads a new session, so stop() reaches everything it forked and a Ctrl-C on the daemon's terminal
    does not hit it behind the daemon's back. Its stderr (and stdout when stdout=subprocess.PIPE) is drained by a
    daemon thread into a ring buffer of masked lines: a chatty child can never fill the pipe and stall.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str = "",
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        stdin: int | IO[bytes] | None = subprocess.DEVNULL,
        stdout: int | IO[bytes] | None = subprocess.DEVNULL,
        pass_fds: Sequence[int] = (),
        tail_lines: int = TAIL_LINES,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name or Path(argv[0]).name
        self._tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self._on_line = on_line
        self._lock = threading.Lock()
        self._reaped = False
        merged = stdout == subprocess.PIPE  # one drain thread for both streams, in the order they were written
        self._popen = subprocess.Popen(
            list(argv),
            stdin=stdin,
            stdout=subprocess.PIPE if merged else stdout,
            stderr=subprocess.STDOUT if merged else subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            pass_fds=tuple(pass_fds),
            close_fds=True,
            start_new_session=True,
        )
        stream = self._popen.stdout if merged else self._popen.stderr
        assert stream is not None
        self._drain = threading.Thread(target=self._read_lines, args=(stream,), daemon=True,
                                       name=f"drain-{self.name}-{self._popen.pid}")
        self._drain.start()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def stdin(self) -> IO[bytes] | None:
        return self._popen.stdin

    @property
    def returncode(self) -> int | None:
        """Exit status once reaped (negative: killed by that signal); None while running."""
        return self._popen.poll()

    def alive(self) -> bool:
        return self._popen.poll() is None

    def stderr_tail(self, lines: int | None = None) -> str:
        """The last `lines` (default all kept) lines of output, credentials masked, newline-separated."""
        kept = list(self._tail)
        return "\n".join(kept if lines is None else kept[-lines:])

    def drained(self, timeout: float) -> bool:
        """Wait up to timeout for the output to be read to its end: after an exit, its last lines are in the tail
        only then (exit is seen before the drain thread reads them)."""
        self._drain.join(timeout)
        return not self._drain.is_alive()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to timeout for exit; the return code, or None if still running."""
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close_stdin(self) -> None:
        """Close our end of a piped stdin: the child sees EOF (ffmpeg then finishes its output cleanly)."""
        if self._popen.stdin is not None:
            with contextlib.suppress(OSError):  # a dead reader: nothing left to deliver
                self._popen.stdin.close()

    def signal(self, sig: int) -> bool:
        """Send sig to the whole process group; False if there is no one left to receive it."""
        with self._lock:
            if self._reaped:
                # The group id is a pid that may have been reused since: never signal after stop().
                return False
            try:
                os.killpg(self._popen.pid, sig)
            except (ProcessLookupError, PermissionError):
                return False
            return True

    def stop(self, timeout: float = 3.0) -> int | None:
        """SIGTERM the group, wait up to timeout, then SIGKILL the group and reap. Idempotent; safe when dead.

        Grandchildren are signalled even if the leader already exited, because they share its group.
        """
        if self._reaped:
            return self._popen.returncode
        self.close_stdin()
        self.signal(signal.SIGTERM)
        # SIGCONT: a stopped (SIGSTOP) child would otherwise sit on SIGTERM until the SIGKILL.
        self.signal(signal.SIGCONT)
        code = self.wait(timeout)
        self.signal(signal.SIGKILL)  # also the group members that outlive their leader
        if code is None:
            code = self._popen.wait()
        with self._lock:
            self._reaped = True
        self._drain.join(timeout=1.0)
        return code

    def kill(self) -> int | None:
        """SIGKILL the group at once and reap: for a child that has stopped responding."""
        return self.stop(timeout=0.0)

    def _read_lines(self, stream: IO[bytes]) -> None:
        try:
            for raw in iter(stream.readline, b""):
                line = mask_credentials(raw.decode("utf-8", "replace").rstrip())
                if not line:
                    continue
                self._tail.append(line)
                if self._on_line is not None:
                    try:
                        self._on_line(line)
                    except Exception:  # a faulty callback must not stop the draining (the child would stall)
                        log.exception("%s: output callback failed", self.name)
        except (OSError, ValueError):
            pass  # stream closed under us during shutdown
        finally:
            stream.close()
