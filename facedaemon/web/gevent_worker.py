"""The gunicorn worker class: gevent (one greenlet per connection) with deadlines on every socket operation.

A thread per connection (gthread) let eight clients that send one byte freeze the page. A greenlet costs a few
KB, so thousands of idle or slow connections are cheap, and three deadlines bound what each one can hold:

- headers: the request line and headers (and the wait for the next request on a kept-alive connection) must
  arrive within HEADER_SECONDS, or the connection is closed (slowloris);
- body and replies: every receive and every send must make progress within IO_SECONDS (a client that stops
  reading its replies, or a body sent a byte at a time, is cut off).

This module is imported only inside gunicorn's worker processes (`--worker-class`), after gevent has patched
the standard library; the daemon itself never imports it.
"""

from __future__ import annotations

import contextlib
import logging
import resource

import gevent
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

HEADER_SECONDS = 10.0  # the whole request head; also how long an idle kept-alive connection may wait
IO_SECONDS = 15.0  # one send (the whole sendall) or one receive of the body: a non-reader is cut within ~20 s


class DeadlineWorker(GeventWorker):
    def init_process(self) -> None:
        _raise_open_files_limit()
        self.log.error_log.addFilter(_quiet_deadlines)
        super().init_process()

    def timeout_ctx(self) -> gevent.Timeout:
        # gunicorn wraps reading each request head in this; False: expire quietly and close the connection.
        return gevent.Timeout(HEADER_SECONDS, False)

    def handle(self, listener, client, addr) -> None:  # type: ignore[no-untyped-def]
        # GeventWorker.handle makes the socket blocking without a timeout; every operation gets a deadline instead.
        client.settimeout(IO_SECONDS)
        AsyncWorker.handle(self, listener, client, addr)


def _quiet_deadlines(record: logging.LogRecord) -> bool:
    """A client cut off by a deadline is the design working, not an error: without this, gunicorn logs a
    30-line traceback for each one, and anyone could fill the journal by opening connections and going quiet."""
    return not (record.exc_info and isinstance(record.exc_info[1], TimeoutError))


def _raise_open_files_limit() -> None:
    """Each connection is a file descriptor: lift the soft limit (often 1,024) to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):  # keep the old limit: the worker still serves up to it
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))
