"""Events to an MQTT broker, with Home Assistant discovery: one HA device per daemon (`device`), its cameras as
entities, a fleet-wide "last seen" per person and a device trigger per (camera, person). The topics and payloads
(listed there) are built in events/ha_discovery.py; this module holds the connection and this run's state.

Person entities and triggers are announced when a gallery person is first recognised; the trigger "unknown person at
<camera>" at every connection, for the cameras in events.unknown_visitors (Unknown reaches this sink only from them).
paho's network thread connects (over TLS when events.mqtt.tls is on), reconnects with a capped backoff and sends;
publish() only queues (bounded: while the broker is away, QoS 1 messages wait in paho's queue of QUEUE_SIZE).

It subscribes to Home Assistant's birth message, to every device's last_seen (the broker keeps the newest sighting
of the fleet: an older one is answered with this daemon's own, by the sightings' time stamps), to its own status
(its live echo says the broker's retained messages are in) and to its own last_person topics (a forget clears one
an earlier run left).
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from paho.mqtt.enums import MQTTErrorCode

from facedaemon.config.events import MqttConfig
from facedaemon.config.secrets import SecretError, expand_secrets
from facedaemon.config.tls import client_context
from facedaemon.events.ha_discovery import (
    OFFLINE,
    ONLINE,
    Message,
    announcements,
    event_messages,
    forget_messages,
    last_seen_filter,
    person_discovery,
    present_message,
    snapshot_topic,
    status_topic,
    trigger_discovery,
)
from facedaemon.events.presence import RECOGNISED, Event
from facedaemon.events.sinks import SinkCounters
from facedaemon.faces.types import is_person

if TYPE_CHECKING:
    from facedaemon.metrics.registry import DaemonMetrics

log = logging.getLogger(__name__)
paho_log = logging.getLogger(f"{__name__}.paho")


def _not_reconnect_noise(record: logging.LogRecord) -> bool:
    # paho 2.2 logs "Client is not connected" at ERROR before every reconnect attempt; _on_connect_fail says why, once.
    return not record.getMessage().startswith("Client is not connected")


def quiet_paho_log() -> logging.Logger:
    """paho's logger with the reconnect noise filtered (installed when a client starts, not at import; once)."""
    if _not_reconnect_noise not in paho_log.filters:
        paho_log.addFilter(_not_reconnect_noise)
    return paho_log


QUEUE_SIZE = 256
# Capped low: paho doubles the wait after each failure, and a broker back after an outage waits for the next try
# (at 30 s, events arrived up to ~30 s after the broker returned; the chaos soak's limit is 10 s).
RECONNECT_MIN, RECONNECT_MAX = 1, 5
KEEPALIVE = 30
REPEAT_EVERY = 10  # a connection that keeps failing the same way is logged again every 10th attempt


def blank_jpeg() -> bytes:
    """A small grey picture: what an image entity shows once the person of its last picture was forgotten."""
    import cv2
    import numpy as np

    ok, jpeg = cv2.imencode(".jpg", np.full((90, 160, 3), 128, np.uint8))
    return jpeg.tobytes() if ok else b""


def sighting_time(payload: bytes) -> float | None:
    """The time stamp of a last_seen message; None for an empty one (a forget) or one that is not a sighting."""
    try:
        when = json.loads(payload)["time"] if payload else None
    except (ValueError, TypeError, KeyError):
        return None
    return float(when) if isinstance(when, int | float) and not isinstance(when, bool) else None


def mqtt_matches(pattern: str, topic: str) -> bool:
    """Does `topic` match a filter with single-level wildcards ("+") only?"""
    want, have = pattern.split("/"), topic.split("/")
    return len(want) == len(have) and all(w in ("+", h) for w, h in zip(want, have, strict=True))


def connect_error(exc: BaseException | None) -> str:
    """Why a connection attempt failed, in words, with what to check for the TLS cases."""
    reason = getattr(exc, "reason", None)  # OpenSSL's short reason; absent on errors raised by Python code
    if isinstance(exc, ssl.SSLCertVerificationError):
        what = getattr(exc, "verify_message", None) or reason or str(exc)
        if "hostname" in what.lower() or "ip address mismatch" in what.lower():
            return f"TLS: {what} (connect by a name the certificate holds, or set events.mqtt.tls.insecure)"
        return f"TLS: the broker's certificate is not trusted: {what} (check events.mqtt.tls.ca_file)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {reason or exc} (is the port a TLS listener?)"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return "connection failed"


class MqttSink:
    name = "mqtt"

    def __init__(self, config: MqttConfig, cameras: Iterable[str], *, device: str, queue_size: int = QUEUE_SIZE,
                 metrics: DaemonMetrics | None = None, snapshots: bool = False, unknown: Iterable[str] = ()) -> None:
        assert config.host is not None
        self.config = config
        self.device = device
        self.cameras = tuple(cameras)
        self.unknown = tuple(unknown)  # cameras that report unknown visitors: their HA trigger is announced
        self.snapshots = snapshots  # announce an image entity per camera and publish each arrival's JPEG
        self._last: dict[str, Message] = {}  # camera → its last_person attributes message (this run)
        self._seen: dict[str, Message] = {}  # person → the last last_seen message this daemon sent
        # last_seen topic → the time of the sighting the broker holds now (any daemon's; this connection), and
        # whether this connection has had the broker's retained ones (then our older sightings stay unsent)
        self._fleet: dict[str, float] = {}
        self._synced = False
        self._shown: dict[str, str] = {}  # camera → the last_person the broker holds (an earlier run's, maybe)
        # who is on each camera (a name counts once per announced track: Unknown may be several faces at once)
        self._present: dict[str, collections.Counter[str]] = {camera: collections.Counter() for camera in self.cameras}
        self._announced: set[tuple[str, str]] = set()  # (camera, person) with an entity and trigger (this run)
        self._state_lock = threading.Lock()  # publish() on the results thread, _on_connect on paho's
        self.dropped = 0
        self.counters = SinkCounters(metrics, self.name, ("queue_full", "not_connected", "error"))
        self._queue_size = queue_size
        self._client = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._broker = f"{config.host}:{config.port}"
        self._where = self._broker + (" (TLS)" if config.tls.enabled else "")
        self._gauge = metrics.mqtt_connected if metrics is not None else None
        self._failures = 0
        self._last_failure = ""
        self._set_connected(False)

    def start(self) -> None:
        # Name resolution and the first connect happen off the caller's thread (a broker may be down or slow).
        self._thread = threading.Thread(target=self._run, name="events-mqtt", daemon=True)
        self._thread.start()

    def publish(self, event: Event) -> None:
        client = self._client
        if client is None:
            self._drop("not_connected", "not connected yet")
            return
        kept = (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)
        failed = [info.rc for topic, payload, retain in self._messages(event)
                  if (info := client.publish(topic, payload, qos=1, retain=retain)).rc not in kept]
        # rc NO_CONN: paho keeps the QoS 1 message and sends it after reconnecting; only a full queue loses it.
        if failed:
            full = MQTTErrorCode.MQTT_ERR_QUEUE_SIZE in failed
            self._drop("queue_full" if full else "error",
                       f"paho's queue is full ({self._queue_size} messages)" if full else f"paho rc {failed[0]}")

    def _messages(self, event: Event) -> list[Message]:
        """The event's messages, the camera's new "present" state, and discovery for a first-seen person."""
        with self._state_lock:
            present = self._present.setdefault(event.camera, collections.Counter())
            if event.kind == RECOGNISED:
                present[event.name] += 1
            elif present[event.name] > 1:
                present[event.name] -= 1
            else:
                present.pop(event.name, None)
            people = sorted(present)
            person = is_person(event.name)
            new = person and (event.camera, event.name) not in self._announced
            if person:
                self._announced.add((event.camera, event.name))
            found = event_messages(self.config, self.device, event)
            if person:
                self._seen[event.name] = found[1]
            if event.kind == RECOGNISED:
                self._last[event.camera] = found[-1]
        messages = self._person_discovery(event.camera, event.name) if new else []
        return messages + found + [present_message(self.config, self.device, event.camera, people, event.time)]

    def publish_snapshot(self, camera: str, jpeg: bytes) -> None:
        """The arrival's picture, sent before its event (not retained: the broker keeps no faces)."""
        client = self._client
        if client is not None and self.snapshots:
            client.publish(snapshot_topic(self.config, self.device, camera), jpeg, qos=1, retain=False)

    def forget(self, people: set[str]) -> None:
        """People who left the gallery: their retained state, entities and triggers are cleared on the broker
        (an empty retained message deletes a retained one; an empty discovery config removes the HA entity)."""
        client = self._client
        with self._state_lock:
            states = []
            for camera, present in self._present.items():
                if any(present.pop(name, 0) for name in people):
                    states.append(present_message(self.config, self.device, camera, sorted(present), time.time()))
            self._announced = {(camera, name) for camera, name in self._announced if name not in people}
            # this run's last person, or an earlier run's still retained (this run has not recognised anyone yet)
            cleared = sorted({camera for camera, last in self._last.items() if json.loads(last[1])["name"] in people}
                             | {camera for camera, name in self._shown.items() if name in people})
            self._seen = {name: seen for name, seen in self._seen.items() if name not in people}
            for camera in cleared:
                self._last.pop(camera, None)
        if client is None:
            return
        blank = blank_jpeg() if self.snapshots and cleared else None
        cleared_messages = forget_messages(self.config, self.device, self.cameras, people, cleared, blank)
        for message in [*cleared_messages, *states]:
            client.publish(message[0], message[1], qos=1, retain=message[2])
        log.info("events: MQTT cleared the retained topics of %d forgotten people", len(people))

    def _person_discovery(self, camera: str, name: str) -> list[Message]:
        found = [person_discovery(self.config, name), trigger_discovery(self.config, self.device, camera, name)]
        return [(topic, json.dumps(payload), True) for topic, payload in found]

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        client = self._client
        if client is not None:
            try:
                if self._connected.is_set():  # a clean "offline" instead of waiting for the will
                    info = client.publish(status_topic(self.config, self.device), OFFLINE, qos=1, retain=True)
                    info.wait_for_publish(min(1.0, timeout / 2))
            except (RuntimeError, ValueError):
                pass
            client.disconnect()
            client.loop_stop()
        if self._thread is not None:
            self._thread.join(timeout / 2)
        if self._gauge is not None:  # a reload may point at another broker: no stale series
            with contextlib.suppress(KeyError):
                self._gauge.remove(self._broker)

    def _set_connected(self, up: bool) -> None:
        if up:
            self._connected.set()
        else:
            self._connected.clear()
        if self._gauge is not None and not self._stopping.is_set():
            self._gauge.labels(self._broker).set(1 if up else 0)

    def _drop(self, reason: str, why: str) -> None:
        self.dropped += 1
        self.counters.dropped(reason)
        if self.dropped == 1 or self.dropped % 100 == 0:
            log.warning("events: MQTT %s: dropped an event: %s (%d dropped so far)", self._where, why, self.dropped)

    def _run(self) -> None:
        import paho.mqtt.client as mqtt

        try:
            environ, creds = os.environ, os.environ.get("CREDENTIALS_DIRECTORY")
            username = expand_secrets(self.config.username, environ, creds) if self.config.username else None
            password = expand_secrets(self.config.password, environ, creds) if self.config.password else None
            context = client_context(self.config.tls) if self.config.tls.enabled else None
        except SecretError as exc:
            log.error("events: MQTT disabled: %s", exc)
            return
        except (ssl.SSLError, OSError) as exc:  # the files were checked at load; changed or removed since
            log.error("events: MQTT disabled: cannot use the events.mqtt.tls files: %s", exc)
            return
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"facedaemon-{self.device}-{socket.gethostname()}-{os.getpid()}")
        client.enable_logger(quiet_paho_log())
        if context is not None:
            client.tls_set_context(context)
        if username is not None:
            client.username_pw_set(username, password)
        client.will_set(status_topic(self.config, self.device), OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(RECONNECT_MIN, RECONNECT_MAX)
        client.max_queued_messages_set(self._queue_size)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        if self._stopping.is_set():
            return
        client.connect_async(self.config.host, self.config.port, keepalive=KEEPALIVE)
        client.loop_start()  # paho's thread: connect, reconnect with backoff, send
        self._client = client
        if self._stopping.is_set():
            client.loop_stop()

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self.counters.error()
            log.warning("events: MQTT %s refused the connection: %s", self._where, reason_code)
            return
        log.info("events: MQTT connected to %s", self._where)
        self._failures, self._last_failure = 0, ""
        self._set_connected(True)
        with self._state_lock:  # the broker may be another one, or came back empty: learn what it holds again
            self._fleet.clear()
            self._synced = False
        self._shown: dict[str, str] = {}  # camera → the last_person the broker holds (an earlier run's, maybe)
        status = status_topic(self.config, self.device)
        # Home Assistant's birth message; every daemon's last_seen (the newest sighting wins); our own status, whose
        # live echo comes after the broker's retained last_seen messages (it handles our packets in order)
        client.subscribe([(f"{self.config.discovery_prefix}/status", 1), (last_seen_filter(self.config), 1),
                          (status, 1), (self._last_person_filter(), 1)])
        self._announce(client, placeholders=True)
        client.publish(status, ONLINE, qos=1, retain=True)

    def _announce(self, client, *, placeholders: bool = False) -> None:
        """Discovery and this run's state, again: a broker without persistence comes back empty, and Home Assistant
        asks for discovery when it starts ("online" on <discovery_prefix>/status). What this daemon knows now also
        replaces a retained state its last run left behind. Its last_seen sightings go once the broker's are known,
        and only those newer than the broker's (another daemon may have seen the person since)."""
        with self._state_lock:
            states = [present_message(self.config, self.device, camera, sorted(people), time.time())
                      for camera, people in self._present.items()]
            states += [(topic.removesuffix("/attributes"), json.loads(body)["name"], True)
                       for topic, body, _ in self._last.values()] + list(self._last.values())
            people = sorted(self._announced)
            states += self._newer_sightings() if self._synced else []
        found = announcements(self.config, self.device, self.cameras, people, snapshots=self.snapshots,
                              unknown=self.unknown)
        for topic, payload in found:
            client.publish(topic, "" if payload is None else json.dumps(payload), qos=1, retain=True)
        for topic, payload, retain in states:
            client.publish(topic, payload, qos=1, retain=retain)
        if self.snapshots and placeholders:
            # The image entities' retained placeholder (no face; arrivals are not retained): what a restarted Home
            # Assistant serves, where it had no picture and its image proxy failed. Once per connection, not on
            # HA's birth (it is still there), so a picture HA shows now is replaced only by a reconnection.
            blank = blank_jpeg()
            for camera in self.cameras:
                client.publish(snapshot_topic(self.config, self.device, camera), blank, qos=1, retain=True)

    def _newer_sightings(self) -> list[Message]:
        """This run's last_seen messages newer than what the broker holds for the person (under _state_lock)."""
        return [seen for seen in self._seen.values()
                if json.loads(seen[1])["time"] > self._fleet.get(seen[0], float("-inf"))]

    def _last_person_filter(self) -> str:
        return f"{status_topic(self.config, self.device).removesuffix('/status')}/+/last_person"

    def _on_message(self, client, _userdata, message) -> None:
        if mqtt_matches(self._last_person_filter(), message.topic):  # ours: what a forget must clear
            with self._state_lock:
                self._shown[message.topic.split("/")[-2]] = message.payload.decode(errors="replace")
        elif message.topic == f"{self.config.discovery_prefix}/status" and message.payload == b"online":
            log.info("events: Home Assistant started; announcing again")
            self._announce(client)
        elif message.topic == status_topic(self.config, self.device):
            if message.payload == ONLINE.encode() and not message.retain:  # our own, live: the retained are in
                with self._state_lock:
                    self._synced = True
                    newer = self._newer_sightings()
                for topic, payload, retain in newer:
                    client.publish(topic, payload, qos=1, retain=retain)
        else:
            self._on_sighting(client, message.topic, message.payload)

    def _on_sighting(self, client, topic: str, payload: bytes) -> None:
        """A last_seen on the broker (any daemon's, ours included): if this daemon saw the person later, its own
        sighting goes again, so the retained one is the newest whatever order the daemons announced in. An empty
        one is a forget: not answered (the person is gone from that device's gallery)."""
        when = sighting_time(payload)
        with self._state_lock:
            if when is None:
                self._fleet.pop(topic, None)
                return
            self._fleet[topic] = when
            ours = [seen for seen in self._seen.values() if seen[0] == topic]
            newer = ours if self._synced and ours and json.loads(ours[0][1])["time"] > when else []
        for topic_, body, retain in newer:
            client.publish(topic_, body, qos=1, retain=retain)

    def _on_connect_fail(self, _client, _userdata) -> None:
        # paho calls this while handling the connect error: the exception is the one being handled.
        reason = connect_error(sys.exc_info()[1])
        self.counters.error()
        self._failures += 1
        if reason != self._last_failure or self._failures % REPEAT_EVERY == 0:
            log.warning("events: MQTT cannot connect to %s: %s (attempt %d; retrying with a backoff of up to %d s)",
                        self._where, reason, self._failures, RECONNECT_MAX)
        self._last_failure = reason

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self._set_connected(False)
        if not self._stopping.is_set():
            log.warning("events: MQTT disconnected from %s (%s); reconnecting", self._where, reason_code)
