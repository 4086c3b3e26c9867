"""Events to an MQTT broker, with Home Assistant discovery: one "last person" sensor per recognising camera.

Topics (prefix = events.mqtt.topic_prefix):
  <prefix>/status                       "online" / "offline" (retained; "offline" is also the broker-kept will)
  <prefix>/<camera>/event               every event as JSON
  <prefix>/<camera>/last_person         name of the last person recognised (retained)
  <prefix>/<camera>/last_person/attributes   that event as JSON (retained): confidence, track, time
  <discovery>/sensor/facedaemon_<camera>/last_person/config   Home Assistant discovery (retained)
paho's network thread connects, reconnects with a capped backoff and sends; publish() only queues (bounded).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Iterable

from facedaemon.config.models import MqttConfig
from facedaemon.config.secrets import SecretError, expand_secrets
from facedaemon.events.tracker import RECOGNISED, Event

log = logging.getLogger(__name__)

QUEUE_SIZE = 256
RECONNECT_MIN, RECONNECT_MAX = 1, 30
KEEPALIVE = 30
ONLINE, OFFLINE = "online", "offline"


def status_topic(config: MqttConfig) -> str:
    return f"{config.topic_prefix}/status"


def discovery(config: MqttConfig, camera: str) -> tuple[str, dict]:
    """Home Assistant MQTT discovery: topic and retained config of the camera's "last person" sensor."""
    base = f"{config.topic_prefix}/{camera}"
    payload = {
        "name": "Last person",
        "unique_id": f"facedaemon_{camera}_last_person",
        "object_id": f"facedaemon_{camera}_last_person",
        "state_topic": f"{base}/last_person",
        "json_attributes_topic": f"{base}/last_person/attributes",
        "availability_topic": status_topic(config),
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "icon": "mdi:face-recognition",
        "device": {"identifiers": [f"facedaemon_{camera}"], "name": f"facedaemon {camera}",
                   "manufacturer": "facedaemon", "model": "camera"},
    }
    return f"{config.discovery_prefix}/sensor/facedaemon_{camera}/last_person/config", payload


def event_messages(config: MqttConfig, event: Event) -> list[tuple[str, str, bool]]:
    """(topic, payload, retain) to publish for one event."""
    base = f"{config.topic_prefix}/{event.camera}"
    body = json.dumps(event.to_json())
    messages = [(f"{base}/event", body, False)]
    if event.kind == RECOGNISED:
        messages += [(f"{base}/last_person", event.name, True), (f"{base}/last_person/attributes", body, True)]
    return messages


class MqttSink:
    def __init__(self, config: MqttConfig, cameras: Iterable[str], *, queue_size: int = QUEUE_SIZE) -> None:
        assert config.host is not None
        self.config = config
        self.cameras = tuple(cameras)
        self.dropped = 0
        self._queue_size = queue_size
        self._client = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._where = f"{config.host}:{config.port}"

    def start(self) -> None:
        # Name resolution and the first connect happen off the caller's thread (a broker may be down or slow).
        self._thread = threading.Thread(target=self._run, name="events-mqtt", daemon=True)
        self._thread.start()

    def publish(self, event: Event) -> None:
        client = self._client
        if client is None:
            self._drop("not connected yet")
            return
        for topic, payload, retain in event_messages(self.config, event):
            info = client.publish(topic, payload, qos=1, retain=retain)  # queued; paho's thread sends it
            if info.rc != 0:
                self._drop(f"publish failed (paho rc {info.rc})")

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        client = self._client
        if client is not None:
            try:
                if self._connected.is_set():  # a clean "offline" instead of waiting for the will
                    info = client.publish(status_topic(self.config), OFFLINE, qos=1, retain=True)
                    info.wait_for_publish(min(1.0, timeout / 2))
            except (RuntimeError, ValueError):
                pass
            client.disconnect()
            client.loop_stop()
        if self._thread is not None:
            self._thread.join(timeout / 2)

    def _drop(self, why: str) -> None:
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 100 == 0:
            log.warning("events: MQTT %s: dropped an event: %s (%d dropped so far)", self._where, why, self.dropped)

    def _run(self) -> None:
        import paho.mqtt.client as mqtt

        try:
            environ, creds = os.environ, os.environ.get("CREDENTIALS_DIRECTORY")
            username = expand_secrets(self.config.username, environ, creds) if self.config.username else None
            password = expand_secrets(self.config.password, environ, creds) if self.config.password else None
        except SecretError as exc:
            log.error("events: MQTT disabled: %s", exc)
            return
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"facedaemon-{socket.gethostname()}-{os.getpid()}")
        client.enable_logger(logging.getLogger(f"{__name__}.paho"))
        if username is not None:
            client.username_pw_set(username, password)
        client.will_set(status_topic(self.config), OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(RECONNECT_MIN, RECONNECT_MAX)
        client.max_queued_messages_set(self._queue_size)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        if self._stopping.is_set():
            return
        client.connect_async(self.config.host, self.config.port, keepalive=KEEPALIVE)
        client.loop_start()  # paho's thread: connect, reconnect with backoff, send
        self._client = client
        if self._stopping.is_set():
            client.loop_stop()

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.warning("events: MQTT %s refused the connection: %s", self._where, reason_code)
            return
        log.info("events: MQTT connected to %s", self._where)
        self._connected.set()
        for camera in self.cameras:
            topic, payload = discovery(self.config, camera)
            client.publish(topic, json.dumps(payload), qos=1, retain=True)
        client.publish(status_topic(self.config), ONLINE, qos=1, retain=True)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self._connected.clear()
        if not self._stopping.is_set():
            log.warning("events: MQTT disconnected from %s (%s); reconnecting", self._where, reason_code)
