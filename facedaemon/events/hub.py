"""The daemon's one entry point for events: results in, events out to every configured sink."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from facedaemon.config.models import Config
from facedaemon.events.presence import LEFT, RECOGNISED, Event, PresenceTracker
from facedaemon.events.sinks import LogSink, Sink, WebhookSink
from facedaemon.faces.types import RecognitionResult

if TYPE_CHECKING:
    from facedaemon.metrics.registry import DaemonMetrics

log = logging.getLogger(__name__)


class EventHub:
    def __init__(self, tracker: PresenceTracker, sinks: list[Sink], metrics: DaemonMetrics | None = None,
                 cameras: tuple[str, ...] = ()) -> None:
        self.tracker = tracker
        self.sinks = sinks
        self.metrics = metrics
        self._lock = threading.Lock()  # results arrive on the worker's reader thread, expiry on the main loop
        if metrics is not None:
            for camera in cameras:  # series at zero, so a dashboard shows the camera before its first event
                for kind in (RECOGNISED, LEFT):
                    metrics.events.labels(camera, kind)

    @classmethod
    def from_config(cls, config: Config, metrics: DaemonMetrics | None = None) -> EventHub | None:
        """None when no sink is configured: then results cost nothing."""
        events = config.events
        cameras = tuple(c.name for c in config.cameras if c.enabled and c.recognize)
        sinks: list[Sink] = []
        if events.log:
            sinks.append(LogSink(metrics))
        if events.webhook.url:
            sinks.append(WebhookSink(events.webhook, device=config.device, metrics=metrics))
        if events.mqtt.host:
            from facedaemon.events.mqtt import MqttSink

            sinks.append(MqttSink(events.mqtt, cameras, device=config.device, metrics=metrics))
        if not sinks:
            return None
        tracker = PresenceTracker(grace=events.grace_seconds, include_unknown=events.include_unknown)
        return cls(tracker, sinks, metrics, cameras)

    def start(self) -> None:
        for sink in self.sinks:
            sink.start()

    def on_result(self, result: RecognitionResult) -> None:
        """Cheap: a dict update per face; sinks only queue."""
        with self._lock:
            events = self.tracker.update(result)
        self._publish(events)

    def tick(self, now: float | None = None) -> None:
        with self._lock:
            events = self.tracker.expire(time.time() if now is None else now)
        self._publish(events)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop every sink in parallel within `timeout`."""
        threads = [threading.Thread(target=sink.stop, args=(timeout,), name="events-stop", daemon=True)
                   for sink in self.sinks]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.05, deadline - time.monotonic()))

    def _publish(self, events: list[Event]) -> None:
        for event in events:
            if self.metrics is not None:
                self.metrics.events.labels(event.camera, event.kind).inc()
            for sink in self.sinks:
                try:
                    sink.publish(event)
                except Exception:  # one broken sink must not stop the others or the result path
                    sink.counters.error()
                    sink.counters.dropped("error")
                    log.exception("camera %s: event sink %s failed", event.camera, sink.name)
