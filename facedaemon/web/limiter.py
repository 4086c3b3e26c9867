"""Login rate limits shared by every gunicorn worker: one small JSON file in runtime_dir, changed under a lock.

Per worker, 3 workers let 29 failures through instead of 10, rotating addresses kept 8.6 password checks a
second going, and entries never expired. Here, for all workers together:

- failures per client address: at most `limit` in `window` seconds (then 429 until the oldest leaves it);
- password checks (scrypt, ~0.1 s of CPU each): at most `checks_per_second` that were not answered from a
  worker's memory of verified credentials, whatever the addresses. Beyond that, 429 without hashing;
- entries expire with the window; at most MAX_CLIENTS addresses are kept (the quietest go first).

The lock is held for one read and one write of a file of a few KB (microseconds), so a gevent worker may take
it blocking.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

STATE_FILE = "login-limits.json"
MAX_CLIENTS = 2_000


class SharedLimiter:
    def __init__(self, folder: Path, limit: int, window: float = 60.0, checks_per_second: float = 2.0) -> None:
        self.path = folder / STATE_FILE
        self.limit = limit
        self.window = window
        self.checks_per_second = checks_per_second

    def blocked_for(self, client: str, now: float) -> float:
        """Seconds until the client may try again; 0 when it may try now."""
        with self._state(now) as state:
            times = state["failures"].get(client, [])
            return 0.0 if len(times) < self.limit else times[0] + self.window - now

    def failed(self, client: str, now: float) -> None:
        with self._state(now) as state:
            state["failures"].setdefault(client, []).append(now)
            failures = state["failures"]
            if len(failures) > MAX_CLIENTS:  # a scan from many addresses: forget those with the fewest failures
                for key in sorted(failures, key=lambda k: (len(failures[k]), failures[k][-1]))[:len(failures) // 2]:
                    del failures[key]

    def take_check(self, now: float) -> bool:
        """Reserve one password check from the global budget; False: over budget, answer 429 without hashing."""
        with self._state(now) as state:
            checks = [t for t in state["checks"] if now - t < 1.0]
            if len(checks) >= self.checks_per_second:
                return False
            state["checks"] = [*checks, now]
            return True

    @contextlib.contextmanager
    def _state(self, now: float) -> Iterator[dict]:
        with locked_json(self.path) as file:
            file.data = self._expired_out(file.data, now)
            yield file.data

    def _expired_out(self, state: object, now: float) -> dict:
        failures = state.get("failures") if isinstance(state, dict) else None
        checks = state.get("checks") if isinstance(state, dict) else None
        kept = {}
        for client, times in (failures.items() if isinstance(failures, dict) else ()):
            recent = [t for t in times if isinstance(t, int | float) and now - t < self.window]
            if recent:  # expiry: an address with no failure in the window is forgotten
                kept[str(client)] = recent
        recent_checks = [t for t in (checks if isinstance(checks, list) else ()) if isinstance(t, int | float)
                         and now - t < 1.0]
        return {"failures": kept, "checks": recent_checks}


class RequestLimiter:
    """At most `limit` requests per client in `window` seconds across all workers (POST /api/identify): its own
    file, locked like SharedLimiter's; at most MAX_CLIENTS addresses are kept (the oldest go first)."""

    def __init__(self, path: Path, limit: int, window: float = 60.0) -> None:
        self.path, self.limit, self.window = path, limit, window

    def take(self, client: str, now: float) -> float:
        """0 when the request may go ahead (it is counted); else the seconds until it may."""
        with locked_json(self.path) as file:
            state = file.data
            clients = {str(k): [t for t in v if isinstance(t, int | float) and now - t < self.window]
                       for k, v in (state.items() if isinstance(state, dict) else ()) if isinstance(v, list)}
            times = clients.setdefault(client, [])
            wait = times[0] + self.window - now if len(times) >= self.limit else 0.0
            if wait <= 0:
                times.append(now)
            kept = sorted((k for k, v in clients.items() if v), key=lambda k: clients[k][-1])[-MAX_CLIENTS:]
            file.data = {k: clients[k] for k in kept}
            return max(0.0, wait)


class LockedJson:
    """What locked_json() read; the block leaves in `data` what is to be written back."""

    def __init__(self, data: object) -> None:
        self.data = data


@contextlib.contextmanager
def locked_json(path: Path) -> Iterator[LockedJson]:
    """The JSON in `path` under an exclusive flock (None when the file is new, torn or edited: start afresh rather
    than lock everyone out); `data` is written back when the block ends without an exception and it changed (most
    requests only read)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = b""
        while chunk := os.read(fd, 65536):
            raw += chunk
        try:
            file = LockedJson(json.loads(raw) if raw else None)
        except ValueError:
            file = LockedJson(None)
        yield file
        data = json.dumps(file.data, separators=(",", ":")).encode()
        if data != raw:
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, data)
    finally:
        os.close(fd)  # releases the lock
