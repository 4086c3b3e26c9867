"""Fuzzed names through the MQTT and webhook payload builders (issue 25): any Unicode a person's folder name can
hold (the gallery takes a folder as it is found, so a hand-made or synced one may hold anything, and a name that is
not UTF-8 on disk reaches Python as lone surrogates).

Every message has a topic an MQTT broker takes (UTF-8, no NUL, no wildcard, within the length limit) and a payload
that encodes; the JSON ones parse back to the same name. Examples: tests/fuzz_profiles.py.
"""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from facedaemon.config.events import MqttConfig
from facedaemon.events.ha_discovery import announcements, event_messages, forget_messages, present_message
from facedaemon.events.presence import LEFT, RECOGNISED, Event

CONFIG = MqttConfig(host="127.0.0.1")
DEVICE, CAMERA = "pi-1", "door"
JSON_TOPICS = ("/event", "/last_seen", "/last_person/attributes")  # the others carry the name as plain text
MAX_TOPIC_BYTES = 65535  # MQTT: a UTF-8 string with a 16-bit length
# Any code point, lone surrogates included (Hypothesis leaves them out unless asked).
names = st.text(st.characters(exclude_categories=()), min_size=1, max_size=40)


def check_topic(topic: str) -> None:
    encoded = topic.encode("utf-8")  # raises for a lone surrogate: paho would too
    assert b"\0" not in encoded and "+" not in topic and "#" not in topic, topic
    assert 0 < len(encoded) <= MAX_TOPIC_BYTES


def check_payload(payload: str | bytes) -> None:
    if isinstance(payload, str):
        payload.encode("utf-8")


def same_name_in_json(payload: str, name: str) -> None:
    body = json.loads(payload)
    if "name" in body:
        assert body["name"] == name, (body["name"], name)


@example(name="Zoë/#+", kind=RECOGNISED)
@example(name="\udcff", kind=RECOGNISED)  # found: a non-UTF-8 folder name broke the plain-text payloads
@example(name="{", kind=RECOGNISED)
@given(names, st.sampled_from([RECOGNISED, LEFT]))
def test_any_name_gives_topics_and_payloads_a_broker_and_a_webhook_take(name: str, kind: str) -> None:
    event = Event(kind, CAMERA, name, 0.87, 3, 1_700_000_000.5, snapshot=None)
    for topic, payload, _ in event_messages(CONFIG, DEVICE, event):
        check_topic(topic)
        check_payload(payload)
        if topic.endswith(JSON_TOPICS):
            same_name_in_json(payload, name)
    topic, payload, _ = present_message(CONFIG, DEVICE, CAMERA, [name, "Unknown"], 1.0)
    check_topic(topic)
    assert json.loads(payload)["people"] == [name, "Unknown"]
    for topic, config in announcements(CONFIG, DEVICE, [CAMERA], [(CAMERA, name)], snapshots=True):
        check_topic(topic)
        if config is None:  # an empty retained config: removes a trigger (the unknown one of a camera not opted in)
            continue
        check_payload(json.dumps(config))
        if config.get("type") == "recognised":  # Home Assistant's trigger fires on this exact payload
            assert [config["payload"]] == [payload for topic, payload, _ in event_messages(CONFIG, DEVICE, event)
                                           if topic.endswith("/recognised")] or kind == LEFT
    for topic, payload, _ in forget_messages(CONFIG, DEVICE, [CAMERA], [name], [CAMERA], b"\xff\xd8"):
        check_topic(topic)
        check_payload(payload)
    # The webhook's body (events.sinks.WebhookSink._deliver): JSON sent as bytes
    body = json.dumps({**event.to_json(), "device": DEVICE}).encode()
    assert json.loads(body)["name"] == name
