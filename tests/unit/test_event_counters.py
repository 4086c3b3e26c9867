"""Event counters in the daemon's own registry: events per camera and kind, drops and errors per sink."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from facedaemon.events.hub import EventHub
from facedaemon.events.mqtt import MqttSink
from facedaemon.events.presence import Event
from facedaemon.events.sinks import WebhookSink
from facedaemon.faces.types import FaceResult, RecognitionResult
from facedaemon.metrics.registry import DaemonMetrics
from tests.config_text import config

OPERATING = Path(__file__).resolve().parents[2] / "docs" / "operating.md"

def value(metrics: DaemonMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def result(t: float, *names: str) -> RecognitionResult:
    faces = tuple(FaceResult(name, 0.9, 0.4, (10, 60, 60, 10), track) for track, name in enumerate(names, 1))
    return RecognitionResult("door", t, faces, 0.05, len(faces))


class BrokenSink:
    """A sink whose publish raises, as a bug in a sink would."""

    name = "broken"

    def __init__(self, metrics: DaemonMetrics) -> None:
        from facedaemon.events.sinks import SinkCounters

        self.counters = SinkCounters(metrics, self.name, ("error",))
        self.calls = 0

    def start(self) -> None:
        pass

    def publish(self, event: Event) -> None:
        self.calls += 1
        raise RuntimeError("broken on purpose")

    def stop(self, timeout: float) -> None:
        pass


def test_events_are_counted_per_camera_and_kind_from_zero():
    metrics = DaemonMetrics.create(process=False)
    hub = EventHub.from_config(config(), metrics)
    assert hub is not None
    # Recognising cameras only, at zero before anything happened; the log sink's series too.
    assert value(metrics, "facedaemon_events_total", camera="door", kind="recognised") == 0
    assert value(metrics, "facedaemon_events_total", camera="door", kind="left") == 0
    assert value(metrics, "facedaemon_events_total", camera="yard", kind="recognised") is None
    assert value(metrics, "facedaemon_event_sink_errors_total", sink="log") == 0
    hub.on_result(result(100.0, "Obama"))
    hub.on_result(result(100.5, "Obama"))  # still there: no new event
    hub.on_result(result(103.0))  # gone for longer than the 2 s grace …
    hub.on_result(result(103.2))  # … on two results in a row
    assert value(metrics, "facedaemon_events_total", camera="door", kind="recognised") == 1
    assert value(metrics, "facedaemon_events_total", camera="door", kind="left") == 1
    metrics.remove_camera("door")
    assert value(metrics, "facedaemon_events_total", camera="door", kind="recognised") is None


def test_removing_a_camera_removes_its_people_and_events_only():
    metrics = DaemonMetrics.create(process=False)
    for camera in ("door", "yard"):
        metrics.faces_recognized.labels(camera, "Obama").inc()
        metrics.events.labels(camera, "left").inc()
    metrics.remove_camera("door")
    assert value(metrics, "facedaemon_faces_recognized_total", camera="door", person="Obama") is None
    assert value(metrics, "facedaemon_events_total", camera="door", kind="left") is None
    assert value(metrics, "facedaemon_faces_recognized_total", camera="yard", person="Obama") == 1
    assert value(metrics, "facedaemon_events_total", camera="yard", kind="left") == 1


def test_removing_a_camera_removes_every_series_of_it_and_no_other():
    metrics = DaemonMetrics.create(process=False)
    labelled = [field.name for field in dataclasses.fields(metrics)
                if "camera" in getattr(getattr(metrics, field.name), "_labelnames", ())]
    for name in labelled:
        metric = getattr(metrics, name)
        for camera in ("door", "yard"):
            metric.labels(**{label: camera if label == "camera" else "x" for label in metric._labelnames})

    def cameras() -> set[str]:
        # camera "": the daemon-wide restart parts (worker, web, rtsp), which stay
        return {sample.labels["camera"] for family in metrics.registry.collect() for sample in family.samples
                if sample.labels.get("camera")}

    assert cameras() == {"door", "yard"}
    metrics.remove_camera("door")
    assert cameras() == {"yard"}


def test_a_sink_that_raises_counts_an_error_and_a_drop_and_the_others_still_get_the_event(caplog):
    metrics = DaemonMetrics.create(process=False)
    hub = EventHub.from_config(config(), metrics)
    broken = BrokenSink(metrics)
    hub.sinks.insert(0, broken)
    with caplog.at_level("INFO"):
        hub.on_result(result(100.0, "Obama"))
    assert broken.calls == 1
    assert value(metrics, "facedaemon_event_sink_errors_total", sink="broken") == 1
    assert value(metrics, "facedaemon_events_dropped_total", sink="broken", reason="error") == 1
    assert "event sink broken failed" in caplog.text
    assert "door: Obama recognised" in caplog.text  # the log sink after it still ran


def test_mqtt_sink_series_exist_from_the_start_and_an_early_event_is_a_counted_drop():
    metrics = DaemonMetrics.create(process=False)
    cfg = config("events: {mqtt: {host: 127.0.0.1, port: 1}}\n").events.mqtt
    sink = MqttSink(cfg, ["door"], device="pi", metrics=metrics)  # not started: no client yet
    assert value(metrics, "facedaemon_mqtt_connected", broker="127.0.0.1:1") == 0
    for reason in ("queue_full", "not_connected", "error"):
        assert value(metrics, "facedaemon_events_dropped_total", sink="mqtt", reason=reason) == 0
    sink.publish(Event("recognised", "door", "Obama", 0.9, 1, 100.0))
    assert value(metrics, "facedaemon_events_dropped_total", sink="mqtt", reason="not_connected") == 1
    assert sink.dropped == 1
    sink.stop(0.5)
    assert value(metrics, "facedaemon_mqtt_connected", broker="127.0.0.1:1") is None  # no stale broker series


def test_without_a_registry_sinks_still_get_every_event_and_count_drops_locally(caplog):
    hub = EventHub.from_config(config("events: {webhook: {url: 'http://127.0.0.1:1/x'}}\n"))
    assert hub is not None and [sink.name for sink in hub.sinks] == ["log", "webhook"]
    webhook = hub.sinks[1]
    assert isinstance(webhook, WebhookSink)
    webhook._size = 1  # a one-event queue: the second event pushes the first out
    with caplog.at_level("INFO"):
        hub.on_result(result(100.0, "Obama", "Biden"))  # two arrivals; the webhook is not started
    assert "door: Obama recognised" in caplog.text and "door: Biden recognised" in caplog.text
    assert [event.name for event in webhook._queue] == ["Biden"]
    assert webhook.dropped == 1, "the local count (the bench and tests read it) must count without a registry"
    assert "dropped an event: queue full" in caplog.text


def test_every_metric_of_the_registry_is_in_the_readme_table():
    text = OPERATING.read_text()
    section = text[text.index("\n## Metrics\n"):]
    section = section[:section.index("\n## ", 1)]
    documented = set(re.findall(r"^\| `(facedaemon_[a-z_]+)", section, re.M))
    metrics = DaemonMetrics.create(process=False)
    exported = set()
    for family in metrics.registry.collect():
        exported.add(family.name + ("_total" if family.type == "counter" else ""))
    missing = exported - documented
    assert not missing, f"metrics missing from the Metrics table of docs/operating.md: {sorted(missing)}"


def test_connect_errors_say_what_to_check():
    import ssl

    from facedaemon.events.mqtt import connect_error

    untrusted = ssl.SSLCertVerificationError(1, "certificate verify failed")
    untrusted.verify_message = "self-signed certificate in certificate chain"
    assert connect_error(untrusted) == ("TLS: the broker's certificate is not trusted: self-signed certificate in "
                                        "certificate chain (check events.mqtt.tls.ca_file)")
    mismatch = ssl.SSLCertVerificationError(1, "certificate verify failed")
    mismatch.verify_message = "IP address mismatch, certificate is not valid for '10.0.0.2'."
    assert "set events.mqtt.tls.insecure" in connect_error(mismatch)
    assert "is the port a TLS listener?" in connect_error(ssl.SSLError(1, "wrong version number"))
    assert connect_error(ConnectionRefusedError(111, "Connection refused")) == "Connection refused"
    assert connect_error(None) == "connection failed"


def test_pahos_reconnect_noise_is_filtered_once_a_client_starts():
    import logging

    from facedaemon.events import mqtt

    logger = mqtt.quiet_paho_log()
    assert mqtt.quiet_paho_log() is logger and logger.filters.count(mqtt._not_reconnect_noise) == 1
    noise = logging.LogRecord(logger.name, logging.ERROR, __file__, 1, "Client is not connected", None, None)
    other = logging.LogRecord(logger.name, logging.ERROR, __file__, 1, "Connection refused", None, None)
    assert not logger.filter(noise) and logger.filter(other)
