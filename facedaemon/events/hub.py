"""The daemon's one entry point for events: results in, events out to every configured sink.

With snapshots on, an arrival waits (at most SNAPSHOT_WAIT) for the picture of its moment: the sinks then get the
picture first and the event with its link after, so a notification fired by the event finds the new picture. Events
leave in the order they happened, so a departure never overtakes its arrival.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from facedaemon.config.models import Config
from facedaemon.events.presence import LEFT, RECOGNISED, Event, PresenceTracker
from facedaemon.events.sinks import LogSink, Sink, WebhookSink
from facedaemon.faces.types import RecognitionResult, is_person

if TYPE_CHECKING:
    from facedaemon.metrics.registry import DaemonMetrics

log = logging.getLogger(__name__)

SNAPSHOT_WAIT = 1.5  # seconds an arrival waits for its picture (one output frame and a JPEG) before going without


class Snapshots(Protocol):
    """runtime/snapshots.SnapshotStore, built by the daemon (it knows the cameras' frames)."""

    def start(self) -> None: ...

    def stop(self, timeout: float) -> None: ...

    def take(self, camera: str, name: str, when: float,
             done: Callable[[str | None, bytes | None], None]) -> bool: ...

    def forget(self, names: Iterable[str]) -> int: ...

    def prune(self, now: float | None = None) -> None: ...


@dataclasses.dataclass
class _Outgoing:
    event: Event
    waiting_since: float | None = None  # monotonic; None: ready to go
    jpeg: bytes | None = None


class EventHub:
    def __init__(self, tracker: PresenceTracker, sinks: list[Sink], metrics: DaemonMetrics | None = None,
                 cameras: tuple[str, ...] = (), snapshots: Snapshots | None = None, base_url: str = "") -> None:
        self.tracker = tracker
        self.sinks = sinks
        self.metrics = metrics
        self.snapshots = snapshots
        self.base_url = base_url
        self.people: set[str] | None = None  # the gallery, once the worker reported it
        self._lock = threading.Lock()  # results arrive on the worker's reader thread, expiry on the main loop
        self._send_lock = threading.Lock()  # one sender at a time: events leave in order
        self._outbox: collections.deque[_Outgoing] = collections.deque()
        if metrics is not None:
            for camera in cameras:  # series at zero, so a dashboard shows the camera before its first event
                for kind in (RECOGNISED, LEFT):
                    metrics.events.labels(camera, kind)

    @classmethod
    def from_config(cls, config: Config, metrics: DaemonMetrics | None = None,
                    snapshots: Snapshots | None = None) -> EventHub | None:
        """None when no sink is configured: then results cost nothing (and no snapshot is taken)."""
        events = config.events
        cameras = tuple(c.name for c in config.cameras if c.enabled and c.recognize)
        sinks: list[Sink] = []
        if events.log:
            sinks.append(LogSink(metrics))
        if events.webhook.url:
            sinks.append(WebhookSink(events.webhook, device=config.device, metrics=metrics))
        if events.mqtt.host:
            from facedaemon.events.mqtt import MqttSink

            sinks.append(MqttSink(events.mqtt, cameras, device=config.device, metrics=metrics,
                                  snapshots=snapshots is not None,
                                  unknown=[camera for camera in cameras if camera in events.unknown_visitors]))
        if not sinks:
            return None
        tracker = PresenceTracker(grace=events.grace_seconds, unknown_cameras=events.unknown_visitors)
        return cls(tracker, sinks, metrics, cameras, snapshots, events.snapshots.base_url or "")

    def start(self) -> None:
        if self.snapshots is not None:
            self.snapshots.start()
        for sink in self.sinks:
            sink.start()

    def on_result(self, result: RecognitionResult) -> None:
        """Cheap: a dict update per face; sinks only queue."""
        with self._lock:
            self._admit(self.tracker.update(result))
        self._send()

    def tick(self, now: float | None = None) -> None:
        with self._lock:
            self._admit(self.tracker.expire(time.time() if now is None else now))
            late = time.monotonic() - SNAPSHOT_WAIT
            for item in self._outbox:
                if item.waiting_since is not None and item.waiting_since < late:
                    item.waiting_since = None  # the camera gave no frame in time: the event goes without
        if self.snapshots is not None:
            self.snapshots.prune()
        self._send()

    def set_people(self, people: Iterable[str]) -> None:
        """The gallery the worker loaded. People who left it (forget) leave every sink and snapshot at once."""
        now = set(people)
        with self._lock:
            gone = (self.people - now) if self.people is not None else set()
            self.people = now
            if gone:
                self.tracker.forget(gone)
                self._outbox = collections.deque(item for item in self._outbox if item.event.name not in gone)
        if not gone:
            return
        if self.snapshots is not None:
            self.snapshots.forget(gone)
        for sink in self.sinks:
            try:
                sink.forget(gone)
            except Exception:
                log.exception("events: sink %s failed to forget %d people", sink.name, len(gone))
        log.info("events: %d people left the gallery; their state and snapshots are removed", len(gone))

    def stop(self, timeout: float = 2.0) -> None:
        """Send what is waiting (without the pictures not yet made), then stop every sink in parallel."""
        with self._lock:
            for item in self._outbox:
                item.waiting_since = None
        self._send()
        parts: list = [*self.sinks, *([self.snapshots] if self.snapshots is not None else [])]
        threads = [threading.Thread(target=part.stop, args=(timeout,), name="events-stop", daemon=True)
                   for part in parts]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.05, deadline - time.monotonic()))

    def _admit(self, events: list[Event]) -> None:
        """Queue the events (under _lock); an arrival asks for its picture. Names the gallery no longer has (a
        result from before a forget) are dropped."""
        known = self.people
        for event in events:
            if known is not None and is_person(event.name) and event.name not in known:
                continue
            item = _Outgoing(event)
            if self.snapshots is not None and event.kind == RECOGNISED:
                item.waiting_since = time.monotonic()
                # take() never calls back on this thread, so the lock held here is safe; False: no frame will come
                if not self.snapshots.take(event.camera, event.name, event.time,
                                           lambda path, jpeg, item=item: self._snapped(item, path, jpeg)):
                    item.waiting_since = None
            self._outbox.append(item)

    def _snapped(self, item: _Outgoing, path: str | None, jpeg: bytes | None) -> None:
        with self._lock:
            waiting = item.waiting_since is not None and any(queued is item for queued in self._outbox)
            name = item.event.name
            forgotten = self.people is not None and is_person(name) and name not in self.people
            if waiting and path is not None:
                item.event = dataclasses.replace(item.event, snapshot=self.base_url + path)
                item.jpeg = jpeg
            item.waiting_since = None
        if forgotten and path is not None and self.snapshots is not None:  # forgotten while the picture was made
            self.snapshots.forget([name])
        self._send()

    def _send(self) -> None:
        with self._send_lock:
            while True:
                with self._lock:
                    if not self._outbox or self._outbox[0].waiting_since is not None:
                        return
                    item = self._outbox.popleft()
                self._publish(item)

    def _publish(self, item: _Outgoing) -> None:
        event = item.event
        if self.metrics is not None:
            self.metrics.events.labels(event.camera, event.kind).inc()
        for sink in self.sinks:
            try:
                if item.jpeg is not None:
                    sink.publish_snapshot(event.camera, item.jpeg)
                sink.publish(event)
            except Exception:  # one broken sink must not stop the others or the result path
                sink.counters.error()
                sink.counters.dropped("error")
                log.exception("camera %s: event sink %s failed", event.camera, sink.name)
