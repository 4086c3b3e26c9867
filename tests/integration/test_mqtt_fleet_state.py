"""Two MQTT sinks (two devices, `hall-pi` and `garage-pi`) on a real Mosquitto: the fleet-wide last_seen the broker
keeps is the newest sighting whatever order the devices announce in (Home Assistant's birth, reconnects, a broker
that comes back empty), and a camera's arrival image has a retained placeholder (no face) for a restarted HA."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest

from devtools.processes import free_port
from facedaemon.config import load_text
from facedaemon.events.mqtt import MqttSink
from facedaemon.events.presence import RECOGNISED, Event
from tests.e2e.broker import local_broker, mosquitto, retained_now
from tests.polling import wait

BASE = "faces_dir: faces\nruntime_dir: run\ncameras:\n  door: {source: pattern}\n"
SEEN = "facedaemon/people/obama/last_seen"
HALL_SAW, GARAGE_SAW = 1_700_000_449.0, 1_700_000_415.0  # hall-pi saw Obama last


@pytest.fixture
def broker(tmp_path) -> Iterator[int]:
    with local_broker(tmp_path) as port:
        yield port


@contextmanager
def sink(port: int, device: str, **kwargs) -> Iterator[MqttSink]:
    config = load_text(f"events: {{mqtt: {{host: 127.0.0.1, port: {port}}}}}\n" + BASE, source="c.yaml",
                       base_dir=Path("/tmp")).events.mqtt
    found = MqttSink(config, ["door"], device=device, **kwargs)
    found.start()
    try:
        assert wait(lambda: found._connected.is_set(), 10), f"{device} connected"
        yield found
    finally:
        found.stop(2.0)


def seen_by(port: int) -> dict | None:
    raw = retained_now(port, settle=0.5).get(SEEN)
    return json.loads(raw) if raw else None


def obama(when: float) -> Event:
    return Event(RECOGNISED, "door", "Obama", 0.9, 1, when)


def publish(port: int, topic: str, payload: str | bytes, retain: bool = False) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ha-test-{time.monotonic_ns()}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_the_newest_sighting_stays_retained_whatever_order_the_devices_announce_in(broker):
    with sink(broker, "garage-pi") as garage:
        with sink(broker, "hall-pi") as hall:
            garage.publish(obama(GARAGE_SAW))
            assert wait(lambda: (seen_by(broker) or {}).get("device") == "garage-pi", 10)
            hall.publish(obama(HALL_SAW))
            assert wait(lambda: (seen_by(broker) or {}).get("device") == "hall-pi", 10)
        # Home Assistant (re)starts while the hall is away: the garage, whose sighting is older, announces again
        # but leaves the hall's sighting alone
        publish(broker, "homeassistant/status", "online")
        assert wait(lambda: "homeassistant/sensor/facedaemon_people/obama_last_seen/config" in retained_now(broker))
        time.sleep(1.5)
        assert seen_by(broker)["time"] == HALL_SAW
        with sink(broker, "hall-pi") as hall:
            hall.publish(obama(HALL_SAW))
            # a stale sighting on the broker (an older daemon, a race): the device that saw him later puts its own
            # back
            stale = json.dumps({"name": "Obama", "camera": "door", "device": "garage-pi", "time": GARAGE_SAW - 100})
            publish(broker, SEEN, stale, retain=True)
            assert wait(lambda: (seen_by(broker) or {}).get("time") == HALL_SAW, 10), seen_by(broker)
            # both announce at once (HA's birth, both up): still the hall's
            publish(broker, "homeassistant/status", "online")
            time.sleep(1.5)
            assert seen_by(broker)["time"] == HALL_SAW
            # a forget (an empty retained message) is not fought: the hall still knows him, and says so when it
            # sees him again
            publish(broker, SEEN, "", retain=True)
            time.sleep(1.5)
            assert seen_by(broker) is None
            hall.publish(obama(HALL_SAW + 10))
            assert wait(lambda: (seen_by(broker) or {}).get("time") == HALL_SAW + 10, 10)


def test_a_broker_back_empty_gets_the_newest_sighting_and_the_placeholder_again(tmp_path):
    """Mosquitto without persistence restarts: both devices reconnect in whatever order and refill last_seen with
    the newest sighting and the arrival images' placeholders (retained; the arrival pictures are not)."""
    port = free_port()
    conf = f"listener {port} 127.0.0.1\n"
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    first = mosquitto(tmp_path / "first", conf, port)
    first.__enter__()
    try:
        with sink(port, "hall-pi", snapshots=True) as hall, sink(port, "garage-pi", snapshots=True) as garage:
            hall.publish_snapshot("door", face_jpeg())
            hall.publish(obama(HALL_SAW))
            garage.publish(obama(GARAGE_SAW))  # reaches the broker last, older: the hall answers with its own
            assert wait(lambda: (seen_by(port) or {}).get("time") == HALL_SAW, 10), seen_by(port)
            assert placeholders(port) == {"hall-pi", "garage-pi"}, "the face picture is not retained"
            first.__exit__(None, None, None)
            first = None
            assert wait(lambda: not hall._connected.is_set() and not garage._connected.is_set(), 10)
            with mosquitto(tmp_path / "second", conf, port):  # back, empty
                for device in (hall, garage):
                    assert wait(lambda device=device: device._connected.is_set(), 20), f"{device.device} is back"
                assert wait(lambda: (seen_by(port) or {}).get("time") == HALL_SAW, 10), seen_by(port)
                time.sleep(1.5)  # and it stays the hall's
                assert seen_by(port)["time"] == HALL_SAW
                assert placeholders(port) == {"hall-pi", "garage-pi"}
    finally:
        if first is not None:
            first.__exit__(None, None, None)


def face_jpeg() -> bytes:
    """A stand-in arrival picture: 640 px wide and not uniform, unlike the placeholder."""
    image = np.random.default_rng(1).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def pictures(port: int) -> dict[str, bytes]:
    """device → the retained picture on its door's snapshot topic (as bytes)."""
    found: dict[str, bytes] = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ha-pics-{time.monotonic_ns()}")
    client.on_connect = lambda c, *_: c.subscribe("facedaemon/+/door/snapshot", 1)
    client.on_message = lambda _c, _u, m: found.update({m.topic.split("/")[1]: bytes(m.payload)} if m.retain else {})
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(1.0)
    client.disconnect()
    client.loop_stop()
    return found


def placeholders(port: int) -> set[str]:
    """Devices whose retained picture is the small uniform grey placeholder (no face)."""
    devices = set()
    for device, jpeg in pictures(port).items():
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        if image is not None and image.shape[1] < 320 and image.std() < 2:
            devices.add(device)
    return devices


def test_a_forget_clears_a_last_person_an_earlier_run_left_retained(broker):
    """The daemon restarted and has not recognised anyone yet when a person is forgotten: the camera's last_person
    still names them on the broker (the earlier run's), and the forget clears it too."""
    with sink(broker, "hall-pi") as hall:
        hall.publish(obama(HALL_SAW))
        assert wait(lambda: retained_now(broker, settle=0.5).get("facedaemon/hall-pi/door/last_person") == "Obama")
    with sink(broker, "hall-pi") as hall:
        time.sleep(1.5)  # the broker's retained messages reach the new connection
        hall.forget({"Obama"})
        assert wait(lambda: retained_now(broker, settle=0.5).get("facedaemon/hall-pi/door/last_person") == "None", 10)
        assert retained_now(broker)["facedaemon/hall-pi/door/last_person/attributes"] == "{}"
