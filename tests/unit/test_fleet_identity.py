"""Fleet identity: the `device` key, its place in MQTT topics, Home Assistant ids, presence state and status.json."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from facedaemon.config import ConfigError, load_text
from facedaemon.config.models import default_device
from facedaemon.events.mqtt import MqttSink
from facedaemon.events.presence import LEFT, RECOGNISED, Event
from facedaemon.runtime.status import DaemonStatus, parse_status

BASE = "faces_dir: faces\nruntime_dir: run\ncameras:\n  door: {source: pattern}\n"


def config(extra: str = ""):
    return load_text(extra + BASE, source="c.yaml", base_dir=Path("/tmp"))


def test_device_defaults_to_the_short_host_name():
    expected = socket.gethostname().split(".")[0]
    assert config().device == default_device()
    if all(ch.isalnum() or ch in "_-" for ch in expected):
        assert default_device() == expected


@pytest.mark.parametrize("bad", ["'a b'", "'-x'", "'a/b'", "''", "'" + "x" * 65 + "'"])
def test_a_bad_device_name_is_a_clear_error_naming_the_key(bad):
    with pytest.raises(ConfigError) as caught:
        config(f"device: {bad}\n")
    assert "device" in str(caught.value) and "letters, digits" in str(caught.value)


def sink_messages(sink: MqttSink, event: Event) -> dict[str, tuple[str, bool]]:
    return {topic: (payload, retain) for topic, payload, retain in sink._messages(event)}


def test_present_state_follows_arrivals_and_departures_and_discovery_goes_out_once():
    mqtt = config("events: {mqtt: {host: broker}}\n").events.mqtt
    sink = MqttSink(mqtt, ["door"], device="pi1")
    first = sink_messages(sink, Event(RECOGNISED, "door", "Obama", 0.9, 1, 100.0))
    present = json.loads(first["facedaemon/pi1/door/present"][0])
    assert present["people"] == ["Obama"] and present["count"] == 1 and first["facedaemon/pi1/door/present"][1]
    assert "homeassistant/sensor/facedaemon_people/obama_last_seen/config" in first
    assert "homeassistant/device_automation/facedaemon_pi1/door_obama/config" in first
    seen = json.loads(first["facedaemon/people/obama/last_seen"][0])
    assert seen == {"name": "Obama", "camera": "door", "device": "pi1", "time": 100.0, "confidence": 0.9}
    second = sink_messages(sink, Event(RECOGNISED, "door", "Biden", 0.8, 2, 101.0))
    assert "homeassistant/sensor/facedaemon_people/obama_last_seen/config" not in second
    assert json.loads(second["facedaemon/pi1/door/present"][0])["people"] == ["Biden", "Obama"]
    gone = sink_messages(sink, Event(LEFT, "door", "Obama", 0.9, 1, 105.0))
    assert json.loads(gone["facedaemon/pi1/door/present"][0])["people"] == ["Biden"]
    assert json.loads(gone["facedaemon/people/obama/last_seen"][0])["time"] == 105.0


def test_two_unknown_faces_leave_one_at_a_time():
    mqtt = config("events: {mqtt: {host: broker}, unknown_visitors: [door]}\n").events.mqtt
    sink = MqttSink(mqtt, ["door"], device="pi1")
    sink_messages(sink, Event(RECOGNISED, "door", "Unknown", 0.0, 1, 100.0))
    sink_messages(sink, Event(RECOGNISED, "door", "Unknown", 0.0, 2, 100.0))
    one_left = sink_messages(sink, Event(LEFT, "door", "Unknown", 0.0, 1, 103.0))
    assert json.loads(one_left["facedaemon/pi1/door/present"][0])["people"] == ["Unknown"]
    none_left = sink_messages(sink, Event(LEFT, "door", "Unknown", 0.0, 2, 104.0))
    assert json.loads(none_left["facedaemon/pi1/door/present"][0])["people"] == []


def test_an_unknown_visitor_announces_no_person_entity_and_no_last_seen():
    sink = MqttSink(config("events: {mqtt: {host: broker}}\n").events.mqtt, ["door"], device="pi1", unknown=["door"])
    arrived = sink_messages(sink, Event(RECOGNISED, "door", "Unknown", 0.2, 1, 100.0))
    assert sorted(arrived) == ["facedaemon/pi1/door/event", "facedaemon/pi1/door/last_person",
                               "facedaemon/pi1/door/last_person/attributes", "facedaemon/pi1/door/present",
                               "facedaemon/pi1/door/recognised"]
    assert arrived["facedaemon/pi1/door/recognised"] == ("Unknown", False)
    assert sink._announced == set() and sink._seen == {}


def test_status_json_names_the_device():
    status = DaemonStatus(updated=1.0, pid=2, cameras={}, device="pi1")
    assert parse_status(json.loads(json.dumps(status.to_json()))).device == "pi1"
    assert parse_status({"updated": 1.0}).device is None  # a file from before devices still reads
