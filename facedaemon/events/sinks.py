"""Where events go: the log (one line each) and a webhook (JSON POSTs from a thread of its own).

publish() never blocks: it runs on the recognition worker's reader thread. The webhook keeps a bounded queue and
drops the oldest event when a slow or dead receiver lets it fill up, counting what it dropped (in the log and in
facedaemon_events_dropped_total / facedaemon_event_sink_errors_total).
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Protocol

from facedaemon.children.threads import CondThread
from facedaemon.config.events import WebhookConfig
from facedaemon.config.secrets import SecretError, expand_secrets
from facedaemon.events.presence import Event

if TYPE_CHECKING:
    from facedaemon.metrics.registry import DaemonMetrics

log = logging.getLogger(__name__)

QUEUE_SIZE = 256
ATTEMPTS = 4  # one event: first try + 3 retries, then it is dropped
RETRY_FIRST, RETRY_CAP = 0.5, 8.0


class Sink(Protocol):
    name: str  # the `sink` label of its metrics
    counters: SinkCounters

    def start(self) -> None: ...

    def publish(self, event: Event) -> None: ...

    def stop(self, timeout: float) -> None: ...

    def publish_snapshot(self, camera: str, jpeg: bytes) -> None:
        """The picture of the arrival published next (before its event)."""

    def forget(self, people: set[str]) -> None:
        """These people left the gallery: remove what this sink keeps or published about them."""


class SinkCounters:
    """One sink's drop and error counters in the daemon's registry, created at zero so dashboards show the sink
    before its first failure. Without a registry (tests, the bench) they count nothing."""

    def __init__(self, metrics: DaemonMetrics | None, sink: str, reasons: tuple[str, ...]) -> None:
        self._dropped = {reason: metrics.events_dropped.labels(sink, reason) for reason in reasons} if metrics else {}
        self._errors = metrics.event_sink_errors.labels(sink) if metrics else None

    def dropped(self, reason: str) -> None:
        child = self._dropped.get(reason)
        if child is not None:
            child.inc()

    def error(self) -> None:
        if self._errors is not None:
            self._errors.inc()


class NoSnapshots:
    """For sinks that carry the snapshot only as the link in the event and keep nothing per person."""

    def publish_snapshot(self, camera: str, jpeg: bytes) -> None:
        pass

    def forget(self, people: set[str]) -> None:
        pass


class LogSink(NoSnapshots):
    name = "log"

    def __init__(self, metrics: DaemonMetrics | None = None) -> None:
        self.counters = SinkCounters(metrics, self.name, ("error",))

    def start(self) -> None:
        pass

    def publish(self, event: Event) -> None:
        log.info("camera %s: %s %s (track %d, confidence %.0f%%)", event.camera, event.name, event.kind,
                 event.track, event.confidence * 100)

    def stop(self, timeout: float) -> None:
        pass


def basic_auth_from_url(url: str) -> tuple[str, dict[str, str]]:
    """http://user:pass@host/... -> (http://host/..., {"Authorization": "Basic ..."}): urllib would otherwise
    try to connect to a host named 'user:pass@host' and every POST failed."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, {}
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    host = parts.netloc.rpartition("@")[2]
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), {"Authorization": f"Basic {token}"}


def describe_url(url: str) -> str:
    """scheme://host[:port] only: paths and queries of webhooks often carry tokens."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}"


class WebhookSink(NoSnapshots, CondThread):
    name = "webhook"
    thread_name = "events-webhook"

    def __init__(self, config: WebhookConfig, *, device: str, queue_size: int = QUEUE_SIZE,
                 attempts: int = ATTEMPTS, retry_first: float = RETRY_FIRST, retry_cap: float = RETRY_CAP,
                 metrics: DaemonMetrics | None = None) -> None:
        assert config.url is not None
        super().__init__()
        self.config = config
        self.device = device  # in every body, as in MQTT payloads: one receiver may serve a fleet
        self.counters = SinkCounters(metrics, self.name, ("queue_full", "failed", "error"))
        self.attempts = attempts
        self.retry_first, self.retry_cap = retry_first, retry_cap
        self.dropped = 0  # events lost: queue full or every attempt failed
        self.sent = 0
        self._queue: collections.deque[Event] = collections.deque()
        self._size = queue_size
        self._where = describe_url(config.url)

    def publish(self, event: Event) -> None:
        with self._cond:
            if len(self._queue) >= self._size:
                self._queue.popleft()
                self._drop("queue_full", f"queue full ({self._size} events)")
            self._queue.append(event)
            self._cond.notify()

    def _drop(self, reason: str, why: str) -> None:
        self.dropped += 1
        self.counters.dropped(reason)
        if self.dropped == 1 or self.dropped % 100 == 0:  # a dead receiver must not flood the log
            log.warning("events: webhook %s: dropped an event: %s (%d dropped so far)", self._where, why,
                        self.dropped)

    def _next(self) -> Event | None:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            return None if self._stopping else self._queue.popleft()

    def _run(self) -> None:
        try:
            url = expand_secrets(self.config.url or "", os.environ, os.environ.get("CREDENTIALS_DIRECTORY"))
        except SecretError as exc:
            log.error("events: webhook disabled: %s", exc)
            return
        while (event := self._next()) is not None:
            self._deliver(url, event)

    def _deliver(self, url: str, event: Event) -> None:
        body = json.dumps({**event.to_json(), "device": self.device}).encode()
        delay = self.retry_first
        for attempt in range(1, self.attempts + 1):
            error = self._post(url, body)
            if error is None:
                self.sent += 1
                return
            self.counters.error()
            if attempt == self.attempts:
                self._drop("failed", f"{error} after {attempt} attempts")
                return
            log.info("events: webhook %s: %s; retrying in %.1f s", self._where, error, delay)
            with self._cond:  # stop() interrupts the wait
                if self._cond.wait_for(lambda: self._stopping, delay):
                    return
            delay = min(self.retry_cap, delay * 2)

    def _post(self, url: str, body: bytes) -> str | None:
        url, headers = basic_auth_from_url(url)
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": "facedaemon",
                                                  **headers})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                response.read(65536)
            return None
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"{type(exc).__name__}: {reason} ({time.monotonic() - started:.1f} s)"
