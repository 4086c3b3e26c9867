"""Unknown visitors through the event hub to a real Mosquitto, with the real MQTT sink and snapshot store: the Home
Assistant trigger "unknown person at <camera>" is announced for the camera that opted in (and cleared on the one
that did not), a stranger is one event whose "recognised" message fires that trigger, the arrival picture goes over
MQTT first and the event links it, and nothing is retained about the stranger beyond the camera's last person."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np

from facedaemon.config import load_text
from facedaemon.events.hub import EventHub
from facedaemon.events.mqtt import blank_jpeg
from facedaemon.faces.types import FACE, UNKNOWN, FaceResult, RecognitionResult
from facedaemon.runtime.snapshots import SnapshotStore
from tests.e2e.broker import Ordered, local_broker, retained_now
from tests.polling import wait

CONFIG = """
device: pi
faces_dir: faces
runtime_dir: run
cameras:
  door: {source: pattern}
  yard: {source: pattern}
events:
  log: false
  unknown_visitors: [door]
  snapshots: {base_url: "https://pi.lan:8080"}
  mqtt: {host: 127.0.0.1, port: PORT}
"""


def grab(camera: str, callback) -> bool:
    """The camera's next output frame, from another thread, as the daemon's pipelines answer."""
    threading.Thread(target=callback, args=(np.full((72, 128, 3), 90, np.uint8),), daemon=True).start()
    return True


def results(hub: EventHub, camera: str, start: float, seconds: float, name: str, track: int) -> None:
    for i in range(round(seconds / 0.1) + 1):
        face = FaceResult(name, 0.2, 0.8, (10, 60, 60, 10), track)
        hub.on_result(RecognitionResult(camera, start + i * 0.1, (face,), 0.05, 1))


def test_a_stranger_is_one_event_and_fires_the_unknown_person_trigger_of_its_camera(tmp_path: Path) -> None:
    with local_broker(tmp_path) as port:
        config = load_text(CONFIG.replace("PORT", str(port)), source="c.yaml", base_dir=tmp_path)
        subscriber = Ordered(port)
        store = SnapshotStore(config.events.snapshots, tmp_path, grab)
        hub = EventHub.from_config(config, snapshots=store)
        assert hub is not None
        hub.start()
        try:
            assert wait(lambda: "facedaemon/pi/status" in subscriber.topics(), 10), "the sink did not connect"
            now = time.time()
            results(hub, "door", now, 1.5, UNKNOWN, 7)  # a stranger, long enough to count
            results(hub, "yard", now, 1.5, UNKNOWN, 3)  # a camera that did not opt in
            assert wait(lambda: subscriber.on("facedaemon/pi/door/event"), 10), "no event for the stranger"
            hub.on_result(RecognitionResult("door", now + 4.0, (), 0.05, 0))  # gone: unseen longer than the grace
            results(hub, "door", now + 4.1, 1.5, FACE, 8)  # then a face nobody could judge: never an event
            hub.on_result(RecognitionResult("door", now + 8.0, (), 0.05, 0))
            assert wait(lambda: len(subscriber.on("facedaemon/pi/door/event")) >= 2, 10)
            # The departure's retained "present" is published after its event: wait for the broker to hold it.
            assert wait(lambda: (sent := subscriber.on("facedaemon/pi/door/present")) != []
                        and json.loads(sent[-1])["people"] == [], 10), "nobody present after the departure"
            kept = retained_now(port)
        finally:
            hub.stop()
            subscriber.close()

    trigger = json.loads(kept["homeassistant/device_automation/facedaemon_pi/door_unknown/config"])
    assert trigger["type"] == "unknown" and trigger["subtype"] == "unknown person at door"
    assert trigger["topic"] == "facedaemon/pi/door/recognised" and trigger["payload"] == UNKNOWN
    assert trigger["device"]["identifiers"] == ["facedaemon_pi"]
    assert "homeassistant/device_automation/facedaemon_pi/yard_unknown/config" not in kept

    arrival, departure = (json.loads(body) for body in subscriber.on("facedaemon/pi/door/event"))
    assert {key: arrival[key] for key in ("event", "camera", "name", "track", "device")} == {
        "event": "recognised", "camera": "door", "name": UNKNOWN, "track": 7, "device": "pi"}
    assert abs(arrival["time"] - (now + 1.0)) < 0.01, "announced after a second of Unknown"
    assert arrival["snapshot"].startswith("https://pi.lan:8080/api/snapshots/door/")
    assert (departure["event"], departure["name"], departure["track"]) == ("left", UNKNOWN, 7)
    assert subscriber.on("facedaemon/pi/door/recognised") == [trigger["payload"]], "the trigger fires once"
    assert subscriber.on("facedaemon/pi/yard/event") == [] and subscriber.on("facedaemon/pi/yard/recognised") == []

    topics = subscriber.topics()
    assert topics.index("facedaemon/pi/door/snapshot") < topics.index("facedaemon/pi/door/event"), "picture first"
    blank = blank_jpeg().decode(errors="replace")
    pictures = subscriber.pictures("facedaemon/pi/door/snapshot")
    assert len(pictures) == 1, "one arrival picture (besides the placeholder each connection retains)"
    assert not [topic for topic in kept if "/people/" in topic or "facedaemon_people" in topic], "Unknown is nobody"
    assert kept.get("facedaemon/pi/door/snapshot", blank) == blank, "the broker keeps no face, only the placeholder"
    assert kept["facedaemon/pi/door/last_person"] == UNKNOWN
    assert json.loads(kept["facedaemon/pi/door/present"])["people"] == []
