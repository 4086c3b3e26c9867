"""What the MQTT sink publishes, and where: topics, payloads and Home Assistant discovery configs, as pure functions
of the config (tested without a broker; events/mqtt.py sends them).

Topics (prefix = events.mqtt.topic_prefix, device = the config's `device`):
  <prefix>/<device>/status                     "online" / "offline" (retained; "offline" is also the broker-kept will)
  <prefix>/<device>/<camera>/event             every event as JSON (with "device")
  <prefix>/<device>/<camera>/recognised        the name, once per arrival, "Unknown" per unknown visitor (HA device
                                               triggers match on it)
  <prefix>/<device>/<camera>/last_person       name of the last person recognised (retained)
  <prefix>/<device>/<camera>/last_person/attributes   that event as JSON (retained): confidence, track, time
  <prefix>/<device>/<camera>/present           who is here now: {"people": [...], "count": n, "time": t} (retained)
  <prefix>/<device>/<camera>/snapshot          the arrival's JPEG, sent before its event (not retained; a grey
                                               placeholder without a face is, until the first arrival)
  <prefix>/people/<person>/last_seen           fleet-wide: {"name", "camera", "device", "time"} (retained)
  <discovery>/sensor/facedaemon_<device>/<camera>_last_person/config   HA discovery (retained), likewise
  <camera>_present; <discovery>/sensor/facedaemon_people/<person>_last_seen/config (one entity per gallery person,
  shared by every daemon); <discovery>/device_automation/facedaemon_<device>/<camera>_<person>/config (triggers;
  <camera>_unknown: "unknown person at <camera>" on the cameras in events.unknown_visitors, cleared on the others);
  <discovery>/image/facedaemon_<device>/<camera>_arrival/config (the snapshot as an HA image entity).
A person who leaves the gallery (forget) is cleared: empty retained messages delete their entity and triggers, then
their last_seen, and a last_person naming them becomes "None" (HA shows unknown). The snapshot topic holds a
retained grey placeholder (no face) until a run's first arrival: HA restarted has a picture to serve.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from facedaemon.config.events import MqttConfig
from facedaemon.events.presence import RECOGNISED, Event
from facedaemon.faces.types import UNKNOWN, is_person

ONLINE, OFFLINE = "online", "offline"
Message = tuple[str, str, bool]  # topic, payload, retain
Cleared = tuple[str, str | bytes, bool]  # a forget message: the blank snapshot is bytes
# Home Assistant templates. A text sensor's "None" stays the text "None" in HA 2024.x (only numeric sensors read it
# as unknown); the string "unknown" is HA's unknown state itself, in every version.
UNKNOWN_IF_NONE = "{{ 'unknown' if value in ('', 'None') else value }}"
# The empty retained message of a forget may reach the person entity before HA has removed it: no JSON then, and
# no "undefined" or "Erroneous JSON" complaint in HA's log.
SEEN_AT = ("{{ value_json.camera ~ '@' ~ value_json.device if value_json is defined and value_json.camera is defined"
           " else 'unknown' }}")
ATTRIBUTES_OR_NONE = "{{ value if value else '{}' }}"


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


def last_seen_filter(config: MqttConfig) -> str:
    """Every person's last_seen topic (a subscription: each daemon keeps the newest sighting retained)."""
    return f"{config.topic_prefix}/people/+/last_seen"


def ha_device(device: str) -> dict:
    return {"identifiers": [f"facedaemon_{device}"], "name": f"facedaemon {device}", "manufacturer": "facedaemon",
            "model": "facedaemon daemon"}


def entity_ids(domain: str, object_id: str) -> dict:
    """How the entity id is asked for: `default_entity_id` (HA 2025.10 on; from 2026.4 the only one read) and
    `object_id` (older HA; 2025.10 on ignores it without a warning when `default_entity_id` is there, and before
    2025.10 the discovery schemas drop the unknown `default_entity_id`)."""
    # an entity id is [a-z0-9_] without "__" ("hall-pi" → hall_pi), as HA itself makes it from object_id
    return {"object_id": object_id,
            "default_entity_id": f"{domain}.{re.sub(r'[^a-z0-9]+', '_', object_id.lower()).strip('_')}"}


def _availability(config: MqttConfig, device: str) -> dict:
    return {"availability_topic": status_topic(config, device), "payload_available": ONLINE,
            "payload_not_available": OFFLINE}


def discovery(config: MqttConfig, device: str, camera: str) -> list[tuple[str, dict]]:
    """Home Assistant MQTT discovery of one camera: its "last person" and "present" sensors (topic, retained config)."""
    base = f"{device_base(config, device)}/{camera}"
    node = f"{config.discovery_prefix}/sensor/facedaemon_{device}"
    last = {"name": f"{camera} last person", "unique_id": f"facedaemon_{device}_{camera}_last_person",
            **entity_ids("sensor", f"facedaemon_{device}_{camera}_last_person"), "state_topic": f"{base}/last_person",
            "value_template": UNKNOWN_IF_NONE,
            "json_attributes_topic": f"{base}/last_person/attributes", "icon": "mdi:face-recognition",
            "device": ha_device(device), **_availability(config, device)}
    present = {"name": f"{camera} present", "unique_id": f"facedaemon_{device}_{camera}_present",
               **entity_ids("sensor", f"facedaemon_{device}_{camera}_present"), "state_topic": f"{base}/present",
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
    payload = {"name": f"{camera} arrival", "unique_id": object_id, **entity_ids("image", object_id),
               "image_topic": snapshot_topic(config, device, camera), "content_type": "image/jpeg",
               "icon": "mdi:account-eye", "device": ha_device(device), **_availability(config, device)}
    return f"{config.discovery_prefix}/image/facedaemon_{device}/{camera}_arrival/config", payload


def person_discovery(config: MqttConfig, name: str) -> tuple[str, dict]:
    """The fleet-wide "last seen" sensor of a gallery person: every daemon publishes the same retained config."""
    object_id = f"{slug(name)}_last_seen"
    payload = {"name": f"{name} last seen", "unique_id": f"facedaemon_people_{object_id}",
               **entity_ids("sensor", f"facedaemon_{object_id}"), "state_topic": last_seen_topic(config, name),
               "value_template": SEEN_AT, "json_attributes_topic": last_seen_topic(config, name),
               "json_attributes_template": ATTRIBUTES_OR_NONE, "icon": "mdi:account-clock",
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


def unknown_trigger_discovery(config: MqttConfig, device: str, camera: str) -> tuple[str, dict]:
    """HA device trigger "unknown person at <camera>": fires on each unknown visitor's arrival (its "recognised"
    message names "Unknown"). Its topic is the one the pre-unknown_visitors "Unknown" trigger had, so it replaces it."""
    payload = {"automation_type": "trigger", "topic": f"{device_base(config, device)}/{camera}/recognised",
               "payload": UNKNOWN, "type": "unknown", "subtype": f"unknown person at {camera}",
               "device": ha_device(device)}
    return trigger_discovery(config, device, camera, UNKNOWN)[0], payload


def present_message(config: MqttConfig, device: str, camera: str, people: list[str], time: float) -> Message:
    body = {"device": device, "camera": camera, "people": people, "count": len(people), "time": round(time, 3)}
    return f"{device_base(config, device)}/{camera}/present", json.dumps(body), True


def event_messages(config: MqttConfig, device: str, event: Event) -> list[Message]:
    """(topic, payload, retain) to publish for one event, the "present" state aside. An unknown visitor is nobody's
    "last seen": its event, "recognised" and "last_person" only."""
    base = f"{device_base(config, device)}/{event.camera}"
    body = json.dumps({**event.to_json(), "device": device})
    messages = [(f"{base}/event", body, False)]
    if is_person(event.name):
        messages.append(seen_message(config, device, event))
    if event.kind == RECOGNISED:
        shown = as_text(event.name)
        messages += [(f"{base}/recognised", shown, False), (f"{base}/last_person", shown, True),
                     (f"{base}/last_person/attributes", body, True)]
    return messages


def seen_message(config: MqttConfig, device: str, event: Event) -> Message:
    """A person's fleet-wide retained "last seen"."""
    seen = json.dumps({"name": event.name, "camera": event.camera, "device": device, "time": round(event.time, 3),
                       "confidence": round(float(event.confidence), 4)})
    return last_seen_topic(config, event.name), seen, True


def announcements(config: MqttConfig, device: str, cameras: Iterable[str], people: Iterable[tuple[str, str]], *,
                  snapshots: bool, unknown: Iterable[str] = ()) -> list[tuple[str, dict | None]]:
    """Every discovery config this daemon announces: its cameras' entities and unknown-visitor triggers (None: an
    empty config, which removes the trigger of a camera that no longer reports strangers), then each (camera,
    person) seen."""
    found: list[tuple[str, dict | None]] = []
    unknown = set(unknown)
    for camera in cameras:
        found += discovery(config, device, camera)
        found += [snapshot_discovery(config, device, camera)] if snapshots else []
        trigger = unknown_trigger_discovery(config, device, camera)
        found.append(trigger if camera in unknown else (trigger[0], None))
    for camera, name in people:
        found += [person_discovery(config, name), trigger_discovery(config, device, camera, name)]
    return found


def forget_messages(config: MqttConfig, device: str, cameras: Iterable[str], people: Iterable[str],
                    cleared: Iterable[str], blank: bytes | None = None) -> list[Cleared]:
    """What clears forgotten people from the broker: empty retained messages delete their entity and triggers, then
    (so Home Assistant has their entity gone before its state empties) their last_seen; each camera in `cleared`
    (its last person was one of them) shows "None" (HA: unknown) and, with snapshots, `blank` (retained: the
    picture a restarted HA serves)."""
    cameras, people = tuple(cameras), tuple(people)
    messages: list[Cleared] = []
    for name in people:
        messages.append((person_discovery(config, name)[0], "", True))
        messages += [(trigger_discovery(config, device, camera, name)[0], "", True) for camera in cameras]
    messages += [(last_seen_topic(config, name), "", True) for name in people]
    for camera in cleared:  # the name must not stay shown
        base = f"{device_base(config, device)}/{camera}"
        messages += [(f"{base}/last_person", "None", True), (f"{base}/last_person/attributes", "{}", True)]
        if blank is not None:
            messages.append((snapshot_topic(config, device, camera), blank, True))
    return messages
