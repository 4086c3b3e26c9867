"""What the MQTT sink publishes, and where: topics, payloads and Home Assistant discovery configs, as pure functions
of the config (tested without a broker; events/mqtt.py sends them).

Topics (prefix = events.mqtt.topic_prefix, device = the config's `device`):
  <prefix>/<device>/status                     "online" / "offline" (retained; "offline" is also the broker-kept will)
  <prefix>/<device>/<camera>/event             every event as JSON (with "device")
  <prefix>/<device>/<camera>/recognised        the name, once per arrival (HA device triggers match on it)
  <prefix>/<device>/<camera>/last_person       name of the last person recognised (retained)
  <prefix>/<device>/<camera>/last_person/attributes   that event as JSON (retained): confidence, track, time
  <prefix>/<device>/<camera>/present           who is here now: {"people": [...], "count": n, "time": t} (retained)
  <prefix>/<device>/<camera>/snapshot          the arrival's JPEG, sent before its event (not retained)
  <prefix>/people/<person>/last_seen           fleet-wide: {"name", "camera", "device", "time"} (retained)
  <discovery>/sensor/facedaemon_<device>/<camera>_last_person/config   HA discovery (retained), likewise
  <camera>_present; <discovery>/sensor/facedaemon_people/<person>_last_seen/config (one entity per gallery person,
  shared by every daemon); <discovery>/device_automation/facedaemon_<device>/<camera>_<person>/config (triggers);
  <discovery>/image/facedaemon_<device>/<camera>_arrival/config (the snapshot as an HA image entity).
A person who leaves the gallery (forget) is cleared: empty retained messages delete their last_seen, entity and
triggers, and a last_person naming them becomes "None" (HA's unknown).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from facedaemon.config.events import MqttConfig
from facedaemon.events.presence import RECOGNISED, Event

ONLINE, OFFLINE = "online", "offline"
Message = tuple[str, str, bool]  # topic, payload, retain
Cleared = tuple[str, str | bytes, bool]  # a forget message: the blank snapshot is bytes


def slug(name: str) -> str:
    """A person's name as one MQTT topic level and HA object id: lower case, [a-z0-9_] only."""
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "person"


def as_text(name: str) -> str:
    """A name as a plain-text MQTT payload: UTF-8 always. A folder name that is not UTF-8 on disk reaches Python
    with lone surrogates, which cannot be encoded (paho would raise while publishing); each becomes '?'. The JSON
    payloads keep the name exact (escaped)."""
    return name.encode("utf-8", "replace").decode("utf-8")


def device_base(config: MqttConfig, device: str) -> str:
    return f"{config.topic_prefix}/{device}"


def status_topic(config: MqttConfig, device: str) -> str:
    return f"{device_base(config, device)}/status"


def last_seen_topic(config: MqttConfig, name: str) -> str:
    return f"{config.topic_prefix}/people/{slug(name)}/last_seen"


def ha_device(device: str) -> dict:
    return {"identifiers": [f"facedaemon_{device}"], "name": f"facedaemon {device}", "manufacturer": "facedaemon",
            "model": "facedaemon daemon"}


def _availability(config: MqttConfig, device: str) -> dict:
    return {"availability_topic": status_topic(config, device), "payload_available": ONLINE,
            "payload_not_available": OFFLINE}


def discovery(config: MqttConfig, device: str, camera: str) -> list[tuple[str, dict]]:
    """Home Assistant MQTT discovery of one camera: its "last person" and "present" sensors (topic, retained config)."""
    base = f"{device_base(config, device)}/{camera}"
    node = f"{config.discovery_prefix}/sensor/facedaemon_{device}"
    last = {"name": f"{camera} last person", "unique_id": f"facedaemon_{device}_{camera}_last_person",
            "object_id": f"facedaemon_{device}_{camera}_last_person", "state_topic": f"{base}/last_person",
            "json_attributes_topic": f"{base}/last_person/attributes", "icon": "mdi:face-recognition",
            "device": ha_device(device), **_availability(config, device)}
    present = {"name": f"{camera} present", "unique_id": f"facedaemon_{device}_{camera}_present",
               "object_id": f"facedaemon_{device}_{camera}_present", "state_topic": f"{base}/present",
               "value_template": "{{ value_json.people | join(', ') if value_json.people else 'nobody' }}",
               "json_attributes_topic": f"{base}/present", "icon": "mdi:account-group",
               "device": ha_device(device), **_availability(config, device)}
    return [(f"{node}/{camera}_last_person/config", last), (f"{node}/{camera}_present/config", present)]


def snapshot_topic(config: MqttConfig, device: str, camera: str) -> str:
    return f"{device_base(config, device)}/{camera}/snapshot"


def snapshot_discovery(config: MqttConfig, device: str, camera: str) -> tuple[str, dict]:
    """An MQTT image entity showing the camera's latest arrival: the JPEG itself goes over MQTT (not retained), so
    Home Assistant serves it behind its own login (/api/image_proxy/image.<object_id>) for notifications."""
    object_id = f"facedaemon_{device}_{camera}_arrival"
    payload = {"name": f"{camera} arrival", "unique_id": object_id, "object_id": object_id,
               "image_topic": snapshot_topic(config, device, camera), "content_type": "image/jpeg",
               "icon": "mdi:account-eye", "device": ha_device(device), **_availability(config, device)}
    return f"{config.discovery_prefix}/image/facedaemon_{device}/{camera}_arrival/config", payload


def person_discovery(config: MqttConfig, name: str) -> tuple[str, dict]:
    """The fleet-wide "last seen" sensor of a gallery person: every daemon publishes the same retained config."""
    object_id = f"{slug(name)}_last_seen"
    payload = {"name": f"{name} last seen", "unique_id": f"facedaemon_people_{object_id}",
               "object_id": f"facedaemon_{object_id}", "state_topic": last_seen_topic(config, name),
               "value_template": "{{ value_json.camera }}@{{ value_json.device }}",
               "json_attributes_topic": last_seen_topic(config, name), "icon": "mdi:account-clock",
               "device": {"identifiers": ["facedaemon_people"], "name": "facedaemon people",
                          "manufacturer": "facedaemon", "model": "people"}}
    return f"{config.discovery_prefix}/sensor/facedaemon_people/{object_id}/config", payload


def trigger_discovery(config: MqttConfig, device: str, camera: str, name: str) -> tuple[str, dict]:
    """HA device trigger "<name> recognised at <camera>" on this daemon's device (payload-matched)."""
    payload = {"automation_type": "trigger", "topic": f"{device_base(config, device)}/{camera}/recognised",
               "payload": as_text(name), "type": "recognised", "subtype": f"{name} at {camera}",
               "device": ha_device(device)}
    return (f"{config.discovery_prefix}/device_automation/facedaemon_{device}/{camera}_{slug(name)}/config",
            payload)


def present_message(config: MqttConfig, device: str, camera: str, people: list[str], time: float) -> Message:
    body = {"device": device, "camera": camera, "people": people, "count": len(people), "time": round(time, 3)}
    return f"{device_base(config, device)}/{camera}/present", json.dumps(body), True


def event_messages(config: MqttConfig, device: str, event: Event) -> list[Message]:
    """(topic, payload, retain) to publish for one event, the "present" state aside."""
    base = f"{device_base(config, device)}/{event.camera}"
    body = json.dumps({**event.to_json(), "device": device})
    seen = json.dumps({"name": event.name, "camera": event.camera, "device": device, "time": round(event.time, 3),
                       "confidence": round(float(event.confidence), 4)})
    messages = [(f"{base}/event", body, False), (last_seen_topic(config, event.name), seen, True)]
    if event.kind == RECOGNISED:
        shown = as_text(event.name)
        messages += [(f"{base}/recognised", shown, False), (f"{base}/last_person", shown, True),
                     (f"{base}/last_person/attributes", body, True)]
    return messages


def announcements(config: MqttConfig, device: str, cameras: Iterable[str], people: Iterable[tuple[str, str]], *,
                  snapshots: bool) -> list[tuple[str, dict]]:
    """Every discovery config this daemon announces: its cameras' entities, then each (camera, person) seen."""
    found = []
    for camera in cameras:
        found += discovery(config, device, camera)
        found += [snapshot_discovery(config, device, camera)] if snapshots else []
    for camera, name in people:
        found += [person_discovery(config, name), trigger_discovery(config, device, camera, name)]
    return found


def forget_messages(config: MqttConfig, device: str, cameras: Iterable[str], people: Iterable[str],
                    cleared: Iterable[str], blank: bytes | None = None) -> list[Cleared]:
    """What clears forgotten people from the broker: empty retained messages delete their last_seen, entity and
    triggers; each camera in `cleared` (its last person was one of them) shows "None" and, with snapshots, `blank`."""
    cameras = tuple(cameras)
    messages: list[Cleared] = []
    for name in people:
        messages += [(last_seen_topic(config, name), "", True), (person_discovery(config, name)[0], "", True)]
        messages += [(trigger_discovery(config, device, camera, name)[0], "", True) for camera in cameras]
    for camera in cleared:  # "None" is Home Assistant's "unknown" state; the name must not stay shown
        base = f"{device_base(config, device)}/{camera}"
        messages += [(f"{base}/last_person", "None", True), (f"{base}/last_person/attributes", "{}", True)]
        if blank is not None:
            messages.append((snapshot_topic(config, device, camera), blank, False))
    return messages
