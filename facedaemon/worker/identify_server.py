"""The recognition child's identify socket (the contract and why it is served here: runtime/identify.py).

Two threads, both owned by the child (started after its gallery is loaded, stopped before it exits):
- the acceptor reads each request and refuses at once what cannot be served: a bad request line, bytes that are
  no allowed image format (415), or a full queue (busy, with a retry estimate);
- the runner names one photo at a time. The photo's steps (detection, then each face) take turns with the camera
  frames on the child's `busy` lock (a FairLock: in arrival order), so the two never run together (dlib holds
  the GIL, and the recognition process stays on one core) and a frame waits for one step, never a whole photo.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from facedaemon.gallery.images import ImageError, ImageFormatError, ImageTooLarge, sniff_format
from facedaemon.runtime import identify as contract
from facedaemon.runtime import live

log = logging.getLogger(__name__)

MAX_WAITING = 2  # photos queued behind the one running; more are answered busy (HTTP 503 + Retry-After)
READ_SECONDS = 10.0  # a request's bytes must arrive within this (the web worker sends them at once)
ACCEPT_POLL_SECONDS = 0.5


class FairLock:
    """A lock taken in arrival order: threading.Lock lets the thread that releases it take it straight back, so a
    camera frame could wait behind every step of a photo."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0  # the next ticket to hand out
        self._serving = 0  # the ticket that holds the lock

    def __enter__(self) -> FairLock:
        with self._cond:
            ticket = self._next
            self._next += 1
            while ticket != self._serving:
                self._cond.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


class IdentifyServer:
    def __init__(self, path: Path, answer: Callable[[bytes], dict]) -> None:
        self.path = path
        self._answer = answer  # photo bytes -> the JSON answer (taking its own turns); raises ImageError
        self._jobs: queue.Queue[tuple[socket.socket, bytes] | None] = queue.Queue(MAX_WAITING)
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._last_seconds = 1.0  # how long the last photo took: the busy answer's retry estimate

    def start(self) -> None:
        self.path.unlink(missing_ok=True)  # a previous worker's socket
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            live.bind(listener, self.path)
            listener.listen(16)
            listener.settimeout(ACCEPT_POLL_SECONDS)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self._threads = [threading.Thread(target=self._accept_loop, name="identify-accept", daemon=True),
                         threading.Thread(target=self._run_loop, name="identify-run", daemon=True)]
        for thread in self._threads:
            thread.start()
        log.info("recognition: identify socket ready (%s)", self.path.name)

    def stop(self, timeout: float = 1.0) -> None:
        """Within ~timeout: a photo being named is abandoned (its daemon thread ends with the process)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        # Whoever still waits in the queue is told the worker stops (the web answers 503).
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                _reply(job[0], contract.busy(5))
        if self._listener is not None:
            self._listener.close()
            with contextlib.suppress(OSError):
                self.path.unlink()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._stop.is_set():
                    log.warning("recognition: identify socket failed (%s); identify is off until a restart", exc)
                return
            self._take(conn)

    def _take(self, conn: socket.socket) -> None:
        conn.settimeout(READ_SECONDS)
        try:
            data = _read_request(conn)
        except (OSError, ValueError) as exc:
            _reply(conn, contract.error(400, f"bad request: {exc}"))
            return
        try:
            sniff_format(data)  # not an image: refused here, even while busy
        except ImageFormatError as exc:
            _reply(conn, contract.error(415, str(exc)))
            return
        try:
            self._jobs.put_nowait((conn, data))
        except queue.Full:
            _reply(conn, contract.busy(math.ceil(self._last_seconds * (MAX_WAITING + 1))))

    def _run_loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._jobs.get(timeout=ACCEPT_POLL_SECONDS)
            except queue.Empty:
                continue
            if job is None:
                return
            conn, data = job
            _reply(conn, self._serve(data))

    def _serve(self, data: bytes) -> bytes:
        started, cpu = time.perf_counter(), time.thread_time()  # this thread runs every step of the photo
        try:
            answer = self._answer(data)
        except ImageError as exc:
            status = 415 if isinstance(exc, ImageFormatError) else 413 if isinstance(exc, ImageTooLarge) else 422
            return contract.error(status, f"not a usable image: {exc}")
        except Exception:  # one bad photo must not take the worker down
            log.exception("recognition: identify failed")
            return contract.error(500, "naming the faces failed (see the daemon's log)")
        self._last_seconds = time.perf_counter() - started
        log.info("recognition: identify: %d face(s) in a %dx%d photo in %.2f s (%.2f s of CPU)", len(answer["faces"]),
                 answer["width"], answer["height"], self._last_seconds, time.thread_time() - cpu)
        return contract.ok(answer)


def _read_request(conn: socket.socket) -> bytes:
    head = b""
    while not head.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk or len(head) > contract.MAX_LINE:
            raise ValueError("no request line")
        head += chunk
    size = contract.parse_head(head)
    if size is None:
        raise ValueError("expected 'identify <bytes>'")
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(min(1 << 20, size - len(data)))
        if not chunk:
            raise ValueError(f"{len(data)} of {size} bytes arrived")
        data += chunk
    return bytes(data)


def _reply(conn: socket.socket, message: bytes) -> None:
    try:
        conn.sendall(message)
    except OSError:
        pass  # the web worker gave up waiting: nobody to tell
    finally:
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()


def serve_child(runtime_dir: Path | None, answer: Callable[[bytes], dict]) -> IdentifyServer | None:
    """The child's identify server, started; None without a runtime_dir or when the socket cannot be made (the
    web then answers 503; recognition goes on)."""
    if runtime_dir is None:
        return None
    server = IdentifyServer(contract.socket_path(runtime_dir), answer)
    try:
        server.start()
    except OSError as exc:
        log.error("recognition: cannot serve identify on %s (%s); POST /api/identify answers 503", runtime_dir, exc)
        return None
    return server
