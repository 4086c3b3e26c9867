"""Event sinks against dead endpoints on 127.0.0.1: the failures land in the daemon's registry and in one log line."""

from __future__ import annotations

import socket
from pathlib import Path

from facedaemon.config import load_text
from facedaemon.events.hub import EventHub
from facedaemon.events.mqtt import MqttSink
from facedaemon.events.sinks import WebhookSink
from facedaemon.faces.types import FaceResult, RecognitionResult
from facedaemon.metrics.registry import DaemonMetrics
from tests.polling import wait

BASE = "faces_dir: faces\nruntime_dir: run\ncameras:\n  door: {source: pattern}\n"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def value(metrics: DaemonMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_a_dead_webhook_counts_every_failed_attempt_and_the_drop(caplog):
    metrics = DaemonMetrics.create(process=False)
    url = f"http://127.0.0.1:{closed_port()}/hook?token=secret"
    config = load_text(f"events: {{log: false, webhook: {{url: '{url}', timeout: 1}}}}\n" + BASE, source="c.yaml",
                       base_dir=Path("/tmp"))
    hub = EventHub.from_config(config, metrics)
    assert hub is not None
    webhook = hub.sinks[0]
    assert isinstance(webhook, WebhookSink)
    webhook.retry_first = 0.05  # the real backoff (0.5, 1, 2 s) would only make this test slower
    with caplog.at_level("INFO", logger="facedaemon.events"):
        hub.start()
        try:
            face = FaceResult("Obama", 0.9, 0.4, (10, 60, 60, 10), 1)
            hub.on_result(RecognitionResult("door", 100.0, (face,), 0.05, 1))
            assert wait(lambda: value(metrics, "facedaemon_events_dropped_total", sink="webhook",
                                      reason="failed") == 1)
            assert value(metrics, "facedaemon_event_sink_errors_total", sink="webhook") == webhook.attempts
            assert value(metrics, "facedaemon_events_total", camera="door", kind="recognised") == 1
            assert value(metrics, "facedaemon_events_dropped_total", sink="webhook", reason="queue_full") == 0
        finally:
            hub.stop(2.0)
    assert "dropped an event" in caplog.text and "secret" not in caplog.text  # the token stays out of the log


def test_an_unreachable_broker_is_one_log_line_and_counted_attempts(caplog):
    metrics = DaemonMetrics.create(process=False)
    port = closed_port()
    config = load_text(f"events: {{mqtt: {{host: 127.0.0.1, port: {port}}}}}\n" + BASE, source="c.yaml",
                       base_dir=Path("/tmp")).events.mqtt
    sink = MqttSink(config, ["door"], device="pi", metrics=metrics)
    with caplog.at_level("INFO", logger="facedaemon.events.mqtt"):
        sink.start()
        try:
            # paho retries after 1 s, then 2 s: two attempts within a few seconds.
            assert wait(lambda: value(metrics, "facedaemon_event_sink_errors_total", sink="mqtt") >= 2, 10)
            assert metrics.registry.get_sample_value("facedaemon_mqtt_connected", {"broker": f"127.0.0.1:{port}"}) == 0
        finally:
            sink.stop(1.0)
    lines = [r.getMessage() for r in caplog.records if "cannot connect" in r.getMessage()]
    assert lines == [f"events: MQTT cannot connect to 127.0.0.1:{port}: Connection refused (attempt 1; retrying "
                     "with a backoff of up to 5 s)"], lines  # the same reason again is not logged again
    # The series is removed on stop: a reload to another broker leaves no stale one behind.
    assert metrics.registry.get_sample_value("facedaemon_mqtt_connected", {"broker": f"127.0.0.1:{port}"}) is None
    assert not any(r.exc_info for r in caplog.records)
    assert not [r for r in caplog.records if r.name.endswith(".paho")]  # paho's per-retry ERROR line is filtered
