"""Events to a real Mosquitto broker from the real daemon: Home Assistant discovery, arrival, retained state, exit."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time

import pytest

from tests.e2e.daemon import free_port, start_daemon, write_config
from tests.e2e.media import make_entry_clip

pytestmark = pytest.mark.e2e

mqtt = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed (scripts/setup installs it)")


@pytest.fixture
def broker(tmp_path):
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        pytest.skip("MQTT TEST SKIPPED: mosquitto is not installed (Debian package 'mosquitto'; run scripts/test-deps "
                    "as root)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    log = (tmp_path / "mosquitto.log").open("wb")
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not listening(port):
            assert process.poll() is None, (tmp_path / "mosquitto.log").read_text()
            assert time.monotonic() < deadline, "mosquitto did not listen within 10 s"
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Subscriber:
    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, str, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="facedaemon-test")
        self.client.on_connect = lambda c, *_: c.subscribe([("facedaemon/#", 1), ("homeassistant/#", 1)])
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _message(self, _client, _userdata, message) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload.decode(), bool(message.retain)))

    def on(self, topic: str) -> list[str]:
        with self.lock:
            return [payload for t, payload, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


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


def test_daemon_publishes_discovery_arrival_state_and_departure(tmp_path, shared_data, broker):
    faces = tmp_path / "faces"
    (faces / "Obama").mkdir(parents=True)
    shutil.copy(shared_data / "images" / "obama2.jpg", faces / "Obama" / "obama2.jpg")
    # Obama is absent for the first 4 s of every 8 s loop: long enough past the 2 s grace to "leave".
    clip = make_entry_clip(shared_data, tmp_path / "entry.mp4", seconds=8.0, appear_at=4.0)
    subscriber = Subscriber(broker)
    config_path, port = write_config(tmp_path, {"door": {"source": str(clip.path), "loop": True}}, faces,
                                     events={"mqtt": {"host": "127.0.0.1", "port": broker}})
    daemon = start_daemon(tmp_path, config_path, port)
    try:
        config_topic = "homeassistant/sensor/facedaemon_door/last_person/config"
        payload = daemon.wait_for(lambda: subscriber.on(config_topic), 120, "the discovery config")[0]
        discovery = json.loads(payload)
        assert discovery["unique_id"] == "facedaemon_door_last_person"
        assert discovery["state_topic"] == "facedaemon/door/last_person"
        assert discovery["availability_topic"] == "facedaemon/status"
        assert discovery["device"]["identifiers"] == ["facedaemon_door"]
        daemon.wait_for(lambda: "online" in subscriber.on("facedaemon/status"), 30, "status online")

        def events(kind: str) -> list[dict]:
            return [e for e in map(json.loads, subscriber.on("facedaemon/door/event")) if e["event"] == kind]

        arrived = daemon.wait_for(lambda: events("recognised"), 120, "a 'recognised' event")[0]
        assert arrived["camera"] == "door" and arrived["name"] == "Obama"
        assert isinstance(arrived["track"], int) and abs(arrived["time"] - time.time()) < 120
        assert 0.0 < arrived["confidence"] <= 1.0
        assert retained(broker, "facedaemon/door/last_person") == "Obama"
        assert retained(broker, "homeassistant/sensor/facedaemon_door/last_person/config") is not None

        left = daemon.wait_for(lambda: events("left"), 60, "a 'left' event when Obama is off screen")[0]
        assert left["name"] == "Obama" and left["camera"] == "door" and left["time"] >= arrived["time"]
        assert "door: Obama recognised" in daemon.log() and "door: Obama left" in daemon.log()
    finally:
        elapsed = daemon.stop()
        leftovers = daemon.kill_leftovers()
        subscriber.close()
    assert elapsed < 10 and not leftovers
    assert retained(broker, "facedaemon/status") == "offline"
