"""A real Mosquitto for the end-to-end tests (mosquitto; local_broker: a plain one on a free port), and clients
that read what the daemon publishes: every message (Subscriber; Ordered: in arrival order, as bytes too), or what
a newly connected client gets retained (retained, retained_now)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt

from devtools.mosquitto import Mosquitto
from devtools.processes import free_port
from facedaemon.events.mqtt import blank_jpeg
from tests.realparts import require_program


@contextlib.contextmanager
def mosquitto(tmp_path: Path, conf: str, *ports: int, persistence: Path | None = None) -> Iterator[Path]:
    """Debian's mosquitto with `conf`, until every port listens; yields its log file. Stopped by its pid (SIGTERM:
    a broker with `persistence` (a folder) saves its retained messages there, as a system Mosquitto does)."""
    broker = Mosquitto(require_program("mosquitto", "mosquitto"), tmp_path, conf, ports, persistence)
    broker.start()
    try:
        yield broker.log_path
    finally:
        broker.stop()


@contextlib.contextmanager
def local_broker(tmp_path: Path) -> Iterator[int]:
    """A plain Mosquitto (anonymous, no persistence) on a free port of 127.0.0.1: yields the port."""
    port = free_port()
    with mosquitto(tmp_path, f"listener {port} 127.0.0.1\n", port):
        yield port


class Subscriber:
    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, str, bool]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        # A client id of its own: the broker drops a connection when another takes its id, and a subscriber
        # knocked off for a moment by a `retained` probe missed an arrival (stop 30's CI).
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"facedaemon-test-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda c, *_: c.subscribe([("facedaemon/#", 1), ("homeassistant/#", 1)])
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        # What the daemon publishes from now on is seen: wait for the broker's SUBACK.
        if not self.subscribed.wait(10):
            self.close()
            raise AssertionError(f"the test's MQTT client was not subscribed at 127.0.0.1:{port} within 10 s")

    def _message(self, _client, _userdata, message) -> None:
        with self.lock:
            # errors="replace": the arrival pictures (JPEG) share facedaemon/#; a raise here would end paho's thread
            self.messages.append((message.topic, message.payload.decode(errors="replace"), bool(message.retain)))

    def on(self, topic: str) -> list[str]:
        with self.lock:
            return [payload for t, payload, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Ordered(Subscriber):
    """Every message in arrival order as well, its payload as bytes (the arrival pictures are JPEGs)."""

    def __init__(self, port: int) -> None:
        self.raw: list[tuple[str, bytes]] = []
        self.raw_lock = threading.Lock()
        super().__init__(port)

    def _message(self, client, userdata, message) -> None:
        with self.raw_lock:
            self.raw.append((message.topic, bytes(message.payload)))
        super()._message(client, userdata, message)

    def topics(self) -> list[str]:
        with self.raw_lock:
            return [topic for topic, _ in self.raw]

    def pictures(self, topic: str) -> list[tuple[int, bytes]]:
        """(place in arrival order, JPEG) of each picture on `topic` but the grey placeholder (no face) that each
        connection of the daemon retains there for a restarted Home Assistant."""
        blank = blank_jpeg()
        with self.raw_lock:
            return [(index, payload) for index, (sent, payload) in enumerate(self.raw)
                    if sent == topic and payload != blank]


def retained(port: int, topic: str, timeout: float = 5.0) -> str | None:
    """What a newly connected client gets for `topic` (the broker's retained message)."""
    late = Subscriber(port)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with late.lock:
                found = [(payload, kept) for t, payload, kept in late.messages if t == topic]
            if found:
                assert found[0][1], f"{topic} was not delivered as retained"
                return found[0][0]
            time.sleep(0.1)
        return None
    finally:
        late.close()


def retained_now(port: int, settle: float = 1.5) -> dict[str, str]:
    """Every retained message the broker holds under facedaemon/# and homeassistant/# (what a new client gets)."""
    found: dict[str, str] = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fleet-test-{uuid.uuid4().hex[:8]}")
    client.on_connect = lambda c, *_: c.subscribe([("facedaemon/#", 1), ("homeassistant/#", 1)])

    def keep(_client, _userdata, message) -> None:
        if message.retain:
            found[message.topic] = message.payload.decode(errors="replace")

    client.on_message = keep
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(settle)
    client.loop_stop()  # before disconnect: paho's thread clears itself on a disconnect, racing loop_stop's join
    client.disconnect()
    return dict(found)
