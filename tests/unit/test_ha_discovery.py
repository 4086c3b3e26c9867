"""The MQTT topics, payloads and Home Assistant discovery configs (events/ha_discovery.py): pure, no broker."""

from __future__ import annotations

import json
from pathlib import Path

from facedaemon.config import load_text
from facedaemon.events.ha_discovery import (
    announcements,
    discovery,
    event_messages,
    forget_messages,
    person_discovery,
    present_message,
    slug,
    snapshot_discovery,
    status_topic,
    trigger_discovery,
    unknown_trigger_discovery,
)
from facedaemon.events.presence import LEFT, RECOGNISED, Event

BASE = "faces_dir: faces\nruntime_dir: run\ncameras:\n  a: {source: pattern}\n"


def mqtt(extra: str = ""):
    text = "events: {mqtt: {host: broker" + extra + "}}\n" + BASE
    return load_text(text, source="c.yaml", base_dir=Path("/tmp")).events.mqtt


def test_mqtt_messages_and_discovery():
    config = mqtt(", topic_prefix: home/fd")
    (topic, payload), (present_topic, present) = discovery(config, "pi1", "a")
    assert topic == "homeassistant/sensor/facedaemon_pi1/a_last_person/config"
    assert payload["unique_id"] == "facedaemon_pi1_a_last_person"
    assert payload["state_topic"] == "home/fd/pi1/a/last_person"
    assert payload["availability_topic"] == "home/fd/pi1/status"
    assert payload["device"]["identifiers"] == ["facedaemon_pi1"]
    assert present_topic == "homeassistant/sensor/facedaemon_pi1/a_present/config"
    assert present["state_topic"] == "home/fd/pi1/a/present" and present["device"] == payload["device"]
    arrived = Event(RECOGNISED, "a", "Obama", 0.9, 3, 100.0)
    assert [(t, r) for t, _, r in event_messages(config, "pi1", arrived)] == [
        ("home/fd/pi1/a/event", False), ("home/fd/people/obama/last_seen", True), ("home/fd/pi1/a/recognised", False),
        ("home/fd/pi1/a/last_person", True), ("home/fd/pi1/a/last_person/attributes", True)]
    assert json.loads(event_messages(config, "pi1", arrived)[0][1])["device"] == "pi1"
    assert event_messages(config, "pi1", arrived)[3][1] == "Obama"
    left = event_messages(config, "pi1", Event(LEFT, "a", "Obama", 0.9, 3, 100.0))
    assert [t for t, _, _ in left] == ["home/fd/pi1/a/event", "home/fd/people/obama/last_seen"]


def test_same_camera_on_two_devices_gives_distinct_ids_and_topics():
    config = mqtt()
    one, two = discovery(config, "pi1", "door"), discovery(config, "pi2", "door")
    topics = {topic for topic, _ in one} | {topic for topic, _ in two}
    ids = {payload["unique_id"] for _, payload in one + two}
    assert len(topics) == 4 and len(ids) == 4
    assert {payload["device"]["identifiers"][0] for _, payload in one + two} == {"facedaemon_pi1", "facedaemon_pi2"}
    assert trigger_discovery(config, "pi1", "door", "Obama")[0] != trigger_discovery(config, "pi2", "door", "Obama")[0]
    # the person entity is fleet-wide on purpose: the same config from every daemon is one entity
    assert person_discovery(config, "Obama") == person_discovery(config, "Obama")


def test_person_names_become_one_topic_level():
    assert slug("Ann-Marie O'Neil") == "ann_marie_o_neil" and slug("#+/") == "person"


def test_status_present_and_snapshot_entity():
    config = mqtt()
    assert status_topic(config, "pi1") == "facedaemon/pi1/status"
    topic, body, retain = present_message(config, "pi1", "a", ["Biden", "Obama"], 100.12345)
    assert topic == "facedaemon/pi1/a/present" and retain
    assert json.loads(body) == {"device": "pi1", "camera": "a", "people": ["Biden", "Obama"], "count": 2,
                                "time": 100.123}
    topic, payload = snapshot_discovery(config, "pi1", "a")
    assert topic == "homeassistant/image/facedaemon_pi1/a_arrival/config"
    assert payload["image_topic"] == "facedaemon/pi1/a/snapshot" and payload["content_type"] == "image/jpeg"
    assert payload["availability_topic"] == "facedaemon/pi1/status"


def test_announcements_cover_cameras_then_people_seen():
    config = mqtt()
    plain = [topic for topic, _ in announcements(config, "pi1", ["a"], [("a", "Obama")], snapshots=False)]
    assert plain == ["homeassistant/sensor/facedaemon_pi1/a_last_person/config",
                     "homeassistant/sensor/facedaemon_pi1/a_present/config",
                     "homeassistant/device_automation/facedaemon_pi1/a_unknown/config",
                     "homeassistant/sensor/facedaemon_people/obama_last_seen/config",
                     "homeassistant/device_automation/facedaemon_pi1/a_obama/config"]
    with_image = [topic for topic, _ in announcements(config, "pi1", ["a"], [], snapshots=True)]
    assert with_image[-2] == "homeassistant/image/facedaemon_pi1/a_arrival/config"


def test_the_unknown_person_trigger_is_announced_for_opted_in_cameras_and_cleared_on_the_others():
    config = mqtt(", topic_prefix: home/fd")
    found = dict(announcements(config, "pi1", ["a", "b"], [], snapshots=False, unknown=["a"]))
    trigger = found["homeassistant/device_automation/facedaemon_pi1/a_unknown/config"]
    assert trigger == {"automation_type": "trigger", "topic": "home/fd/pi1/a/recognised", "payload": "Unknown",
                       "type": "unknown", "subtype": "unknown person at a",
                       "device": {"identifiers": ["facedaemon_pi1"], "name": "facedaemon pi1",
                                  "manufacturer": "facedaemon", "model": "facedaemon daemon"}}
    assert found["homeassistant/device_automation/facedaemon_pi1/b_unknown/config"] is None  # an empty config
    assert unknown_trigger_discovery(config, "pi1", "a") == ("homeassistant/device_automation/facedaemon_pi1/"
                                                            "a_unknown/config", trigger)


def test_an_unknown_visitor_is_an_event_and_an_arrival_but_nobody_s_last_seen():
    config = mqtt()
    arrived = event_messages(config, "pi1", Event(RECOGNISED, "a", "Unknown", 0.2, 7, 100.0))
    named = [(topic, json.loads(body)["name"] if body.startswith("{") else body, retain)
             for topic, body, retain in arrived]
    assert named == [("facedaemon/pi1/a/event", "Unknown", False), ("facedaemon/pi1/a/recognised", "Unknown", False),
                     ("facedaemon/pi1/a/last_person", "Unknown", True),
                     ("facedaemon/pi1/a/last_person/attributes", "Unknown", True)]
    left = event_messages(config, "pi1", Event(LEFT, "a", "Unknown", 0.2, 7, 103.0))
    assert [t for t, _, _ in left] == ["facedaemon/pi1/a/event"]


def test_forgetting_a_person_clears_their_retained_topics():
    config = mqtt()
    messages = forget_messages(config, "pi1", ["a", "b"], ["Obama"], cleared=["a"], blank=b"jpeg")
    # the entity and triggers go first: Home Assistant removes the entity before its state topic empties
    assert messages == [
        ("homeassistant/sensor/facedaemon_people/obama_last_seen/config", "", True),
        ("homeassistant/device_automation/facedaemon_pi1/a_obama/config", "", True),
        ("homeassistant/device_automation/facedaemon_pi1/b_obama/config", "", True),
        ("facedaemon/people/obama/last_seen", "", True),
        ("facedaemon/pi1/a/last_person", "None", True), ("facedaemon/pi1/a/last_person/attributes", "{}", True),
        ("facedaemon/pi1/a/snapshot", b"jpeg", True)]
    assert all(message[0] != "facedaemon/pi1/a/snapshot" for message in
               forget_messages(config, "pi1", ["a"], ["Obama"], cleared=["a"]))


def test_entities_ask_for_their_id_the_old_and_the_new_way():
    """HA 2026.4 on reads only `default_entity_id` (the full entity id); older HA reads `object_id` and drops the
    unknown key; both together log no deprecation warning (HA 2025.10 to 2026.3)."""
    config = mqtt()
    found = [*discovery(config, "pi1", "door"), snapshot_discovery(config, "pi1", "door"),
             person_discovery(config, "Obama")]
    assert [payload["default_entity_id"] for _, payload in found] == [
        "sensor.facedaemon_pi1_door_last_person", "sensor.facedaemon_pi1_door_present",
        "image.facedaemon_pi1_door_arrival", "sensor.facedaemon_obama_last_seen"]
    assert all(payload["default_entity_id"].split(".", 1)[1] == payload["object_id"] for _, payload in found)
    # what HA makes of a device name that is no entity id ("hall-pi" → hall_pi)
    hall = discovery(config, "hall-pi", "door")[0][1]
    assert hall["default_entity_id"] == "sensor.facedaemon_hall_pi_door_last_person"


def test_the_person_entity_takes_an_empty_state_without_complaint():
    """A forget's empty retained last_seen may reach the entity before HA removed it: the templates test for the
    JSON instead of assuming it (HA renders them; tests/e2e/test_home_assistant.py reads HA's log)."""
    _, payload = person_discovery(mqtt(), "Obama")
    assert "value_json is defined" in payload["value_template"]
    assert payload["json_attributes_template"] == "{{ value if value else '{}' }}"
    last_person = discovery(mqtt(), "pi1", "door")[0][1]
    assert last_person["value_template"] == "{{ 'unknown' if value in ('', 'None') else value }}"
