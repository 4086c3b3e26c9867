"""Events to a real Mosquitto broker from the real daemon: Home Assistant discovery, arrival, retained state, exit;
the same over TLS with a client certificate, and what an untrusted broker certificate or a missing CA file does."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from devtools.daemon import status, write_config
from devtools.processes import descendants, free_port
from tests.e2e.broker import Subscriber, local_broker, mosquitto, retained, retained_now
from tests.e2e.media import gallery, make_entry_clip, obama_gallery
from tests.e2e.pki import Pki, make_pki
from tests.polling import wait

pytestmark = pytest.mark.e2e

@pytest.fixture
def broker(tmp_path):
    with local_broker(tmp_path) as port:
        yield port


def test_daemon_publishes_discovery_arrival_state_and_departure(tmp_path, shared_data, broker, run_daemon):
    faces = gallery(shared_data, tmp_path / "faces", obama=("obama2.jpg",))
    # Obama is absent for the first 4 s of every 8 s loop: long enough past the 2 s grace to "leave".
    clip = make_entry_clip(shared_data, tmp_path / "entry.mp4", seconds=8.0, appear_at=4.0)
    subscriber = Subscriber(broker)
    daemon = run_daemon(tmp_path, {"door": {"source": str(clip.path), "loop": True}}, faces, ready=None, device="pi",
                        events={"mqtt": {"host": "127.0.0.1", "port": broker}})
    try:
        config_topic = "homeassistant/sensor/facedaemon_pi/door_last_person/config"
        payload = daemon.wait_for(lambda: subscriber.on(config_topic), 120, "the discovery config")[0]
        discovery = json.loads(payload)
        assert discovery["unique_id"] == "facedaemon_pi_door_last_person"
        assert discovery["state_topic"] == "facedaemon/pi/door/last_person"
        assert discovery["availability_topic"] == "facedaemon/pi/status"
        assert discovery["device"]["identifiers"] == ["facedaemon_pi"]
        daemon.wait_for(lambda: "online" in subscriber.on("facedaemon/pi/status"), 30, "status online")

        def events(kind: str) -> list[dict]:
            return [e for e in map(json.loads, subscriber.on("facedaemon/pi/door/event")) if e["event"] == kind]

        arrived = daemon.wait_for(lambda: events("recognised"), 120, "a 'recognised' event")[0]
        assert arrived["camera"] == "door" and arrived["name"] == "Obama"
        assert isinstance(arrived["track"], int) and abs(arrived["time"] - time.time()) < 120
        assert 0.0 < arrived["confidence"] <= 1.0
        assert retained(broker, "facedaemon/pi/door/last_person") == "Obama"
        assert retained(broker, "homeassistant/sensor/facedaemon_pi/door_last_person/config") is not None

        left = daemon.wait_for(lambda: events("left"), 60, "a 'left' event when Obama is off screen")[0]
        assert left["name"] == "Obama" and left["camera"] == "door" and left["time"] >= arrived["time"]
        assert "door: Obama recognised" in daemon.log() and "door: Obama left" in daemon.log()
    finally:
        elapsed = daemon.stop()
        leftovers = daemon.kill_leftovers()
        subscriber.close()
    assert elapsed < 10 and not leftovers
    assert retained(broker, "facedaemon/pi/status") == "offline"


# -- MQTT over TLS -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TlsBroker:
    plain: int  # for the test's own subscriber
    tls: int  # TLS only, client certificate required: what the daemon uses
    pki: Pki


@pytest.fixture
def tls_broker(tmp_path):
    pki = make_pki(tmp_path / "pki")
    plain, tls = free_port(), free_port()
    conf = (f"listener {plain} 127.0.0.1\n"
            f"listener {tls} 127.0.0.1\ncafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
            "require_certificate true\n")
    with mosquitto(tmp_path, conf, plain, tls):
        yield TlsBroker(plain, tls, pki)


def tls_config(broker: TlsBroker, ca: Path) -> dict:
    return {"host": "127.0.0.1", "port": broker.tls,
            "tls": {"ca_file": str(ca), "cert_file": str(broker.pki.client_cert),
                    "key_file": str(broker.pki.client_key)}}


def gauge(daemon, name: str) -> float | None:
    """The value of an unlabelled-by-camera sample line `name{...} value` at /metrics, None if absent."""
    for line in daemon.get("/metrics").text.splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_events_arrive_over_tls_with_a_client_certificate(tmp_path, shared_data, tls_broker, run_daemon):
    faces = obama_gallery(shared_data, tmp_path / "faces")
    clip = make_entry_clip(shared_data, tmp_path / "entry.mp4", seconds=6.0, appear_at=1.0)
    subscriber = Subscriber(tls_broker.plain)
    arrivals: list[tuple[float, dict]] = []
    receive = subscriber.client.on_message

    def timed(client, userdata, message) -> None:  # when each event reached the test, for the latency figure
        if message.topic == "facedaemon/pi/door/event":
            arrivals.append((time.time(), json.loads(message.payload)))
        receive(client, userdata, message)

    subscriber.client.on_message = timed
    daemon = run_daemon(tmp_path, {"door": {"source": str(clip.path), "loop": True}}, faces, ready=None, device="pi",
                        events={"mqtt": tls_config(tls_broker, tls_broker.pki.ca)})
    try:
        daemon.wait_for(lambda: f"MQTT connected to 127.0.0.1:{tls_broker.tls} (TLS)" in daemon.log(), 120,
                        "the TLS connection")
        config_topic = "homeassistant/sensor/facedaemon_pi/door_last_person/config"
        assert json.loads(daemon.wait_for(lambda: subscriber.on(config_topic), 30, "discovery")[0])["unique_id"]
        daemon.wait_for(lambda: [e for _, e in arrivals if e["event"] == "recognised"], 120, "'recognised' over TLS")
        arrived_at, event = next((t, e) for t, e in arrivals if e["event"] == "recognised")
        assert event["name"] == "Obama" and event["camera"] == "door"
        print(f"\nMQTT over TLS: frame to subscriber {arrived_at - event['time']:.3f} s")
        assert arrived_at - event["time"] < 10
        assert daemon.wait_for(lambda: gauge(daemon, "facedaemon_mqtt_connected{") == 1, 10, "connected gauge")
    finally:
        elapsed = daemon.stop()
        leftovers = daemon.kill_leftovers()
        subscriber.close()
    assert elapsed < 10 and not leftovers
    assert retained(tls_broker.plain, "facedaemon/pi/status") == "offline"  # the clean stop went over TLS too


def test_an_untrusted_broker_certificate_is_one_clear_log_line_and_the_daemon_keeps_running(tmp_path, tls_broker,
                                                                                            run_daemon):
    faces = tmp_path / "faces"
    faces.mkdir()
    cameras = {"pattern": {"source": "pattern", "width": 320, "height": 240, "fps": 10, "recognize": False}}
    config_path, port = write_config(tmp_path, cameras, faces, device="pi",
                                     events={"mqtt": tls_config(tls_broker, tls_broker.pki.other_ca)})
    daemon = run_daemon.start(tmp_path, config_path, port, ready=None)
    line = f"events: MQTT cannot connect to 127.0.0.1:{tls_broker.tls} (TLS): TLS: the broker's certificate is not"
    daemon.wait_for(lambda: line in daemon.log(), 60, "the certificate error in the log")
    # paho retries (1 s, 2 s, ...): still failing, still running, still serving.
    daemon.wait_for(lambda: (gauge(daemon, "facedaemon_event_sink_errors_total{sink=\"mqtt\"}") or 0) >= 2, 30,
                    "a second failed attempt counted")
    assert daemon.get("/healthz").status_code == 200
    assert status(daemon)["cameras"]["pattern"]["state"] == "streaming"
    assert gauge(daemon, "facedaemon_mqtt_connected{") == 0
    log = daemon.log()
    reported = [row for row in log.splitlines() if "cannot connect" in row]
    assert len(reported) == 1, reported  # the same reason is not repeated on every retry
    assert "check events.mqtt.tls.ca_file" in reported[0] and "Traceback" not in log
    assert "facedaemon.events.mqtt.paho" not in log  # paho's own per-retry noise is filtered
    daemon.stop()


def test_a_missing_ca_file_stops_the_daemon_at_start_naming_the_key(tmp_path, run_daemon):
    faces = tmp_path / "faces"
    faces.mkdir()
    cameras = {"pattern": {"source": "pattern", "recognize": False}}
    config_path, port = write_config(tmp_path, cameras, faces, device="pi",
                                     events={"mqtt": {"host": "127.0.0.1", "tls": {"ca_file": "no-such-ca.pem"}}})
    daemon = run_daemon.start(tmp_path, config_path, port, ready=None)
    assert daemon.process.wait(60) == 2
    log = daemon.log()
    assert f"events.mqtt.tls.ca_file: file not found (got '{tmp_path / 'no-such-ca.pem'}')" in log, log
    assert "Traceback" not in log


def test_broker_back_gets_the_queued_events_and_a_killed_daemon_leaves_offline(tmp_path, shared_data, run_daemon):
    faces = obama_gallery(shared_data, tmp_path / "faces")
    # Obama comes and goes every 8 s loop: events happen while the broker is away.
    clip = make_entry_clip(shared_data, tmp_path / "entry.mp4", seconds=8.0, appear_at=4.0)
    port = free_port()
    conf = f"listener {port} 127.0.0.1\n"
    (tmp_path / "first").mkdir()
    with mosquitto(tmp_path / "first", conf, port):
        daemon = run_daemon(tmp_path, {"door": {"source": str(clip.path), "loop": True}}, faces, timeout=180,
                            device="pi", events={"mqtt": {"host": "127.0.0.1", "port": port}})
        daemon.wait_for(lambda: retained(port, "facedaemon/pi/status", 1.0) == "online", 60, "status online")
        daemon.wait_for(lambda: "door: Obama recognised" in daemon.log(), 120, "Obama recognised")
    down = time.time()
    daemon.wait_for(lambda: daemon.log().count("door: Obama left") >= 1 and time.time() - down > 10, 40,
                    "events while the broker is away (more than one loop)")
    (tmp_path / "second").mkdir()
    with mosquitto(tmp_path / "second", conf, port):
        back = time.time()
        subscriber = Subscriber(port)
        try:
            def queued() -> list[dict]:
                found = [json.loads(p) for p in subscriber.on("facedaemon/pi/door/event")]
                return [e for e in found if down <= e["time"] < back]

            events = daemon.wait_for(queued, 60, "events from while the broker was away")
            assert {e["name"] for e in events} == {"Obama"}
            daemon.wait_for(lambda: "online" in subscriber.on("facedaemon/pi/status"), 30, "online again")
        finally:
            subscriber.close()
        # SIGKILL: no clean goodbye; the broker publishes the daemon's last will.
        daemon.seen_pids |= descendants(daemon.process.pid)
        daemon.process.kill()
        daemon.process.wait(10)
        daemon.kill_leftovers()  # its children, which SIGKILL leaves behind by design
        deadline = time.monotonic() + 15
        while retained(port, "facedaemon/pi/status", 1.0) != "offline":
            assert time.monotonic() < deadline, "no retained 'offline' (last will) 15 s after SIGKILL"


def test_broker_restarts_with_and_without_persistence(tmp_path, shared_data, run_daemon):
    """With persistence the broker itself brings back every retained discovery and state (the daemon stopped); a
    broker that comes back empty gets them again from the daemon, and so does Home Assistant's birth message."""
    faces = obama_gallery(shared_data, tmp_path / "faces")
    clip = make_entry_clip(shared_data, tmp_path / "entry.mp4", seconds=6.0, appear_at=1.0)  # never "leaves"
    port, saved = free_port(), tmp_path / "mosquitto-db"
    saved.mkdir()
    conf = f"listener {port} 127.0.0.1\n"
    wanted = ["homeassistant/sensor/facedaemon_pi/door_last_person/config",
              "homeassistant/sensor/facedaemon_pi/door_present/config",
              "homeassistant/image/facedaemon_pi/door_arrival/config",
              "homeassistant/sensor/facedaemon_people/obama_last_seen/config",
              "homeassistant/device_automation/facedaemon_pi/door_obama/config",
              "facedaemon/pi/door/last_person", "facedaemon/pi/door/last_person/attributes",
              "facedaemon/pi/door/present", "facedaemon/people/obama/last_seen"]

    def complete(status: str):
        state = retained_now(port)
        return all(topic in state for topic in wanted) and state.get("facedaemon/pi/status") == status and state

    cameras = {"door": {"source": str(clip.path), "loop": True}}
    settings = {"device": "pi", "events": {"mqtt": {"host": "127.0.0.1", "port": port}}, "timeout": 180}
    for name in ("first", "second", "third"):
        (tmp_path / name).mkdir()
    with mosquitto(tmp_path / "first", conf, port, persistence=saved):
        daemon = run_daemon(tmp_path, cameras, faces, **settings)
        before = daemon.wait_for(lambda: complete("online"), 180, "discovery and Obama's state on the broker")
        daemon.stop()
        daemon.kill_leftovers()
    with mosquitto(tmp_path / "second", conf, port, persistence=saved):
        # The daemon is stopped: all of this comes from the broker's saved database.
        found: list[dict] = []
        assert wait(lambda: found.append(complete("offline")) or found[-1], 15), \
            f"the retained messages from the database: {sorted(found[-1] or []) if found else None}"
        after = found[-1]
        assert {t: after[t] for t in wanted} == {t: before[t] for t in wanted}
        daemon = run_daemon(tmp_path / "second", cameras, faces, **settings)
        daemon.wait_for(lambda: retained(port, "facedaemon/pi/status", 1.0) == "online", 60, "online again")
        daemon.wait_for(lambda: "door: Obama recognised" in daemon.log(), 120, "Obama recognised by this run")
        time.sleep(1.0)  # the arrival's messages reach the broker
    # Without persistence: the broker comes back with nothing; Obama is still present (no new arrival), so all of
    # it has to come from the daemon's reconnection.
    with mosquitto(tmp_path / "third", conf, port):
        state = daemon.wait_for(lambda: complete("online"), 60, "discovery and state announced again")
        assert json.loads(state["facedaemon/pi/door/present"])["people"] == ["Obama"]
        assert state["facedaemon/pi/door/last_person"] == "Obama"
        assert daemon.log().count("door: Obama recognised") == 1, "no new arrival: the state was announced again"
        # Home Assistant (re)starting asks for discovery with its birth message.
        cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="facedaemon-test-ha")
        cleaner.connect("127.0.0.1", port)
        cleaner.loop_start()
        cleaner.publish(wanted[0], b"", qos=1, retain=True).wait_for_publish(5)
        assert wanted[0] not in retained_now(port)
        cleaner.publish("homeassistant/status", "online", qos=1).wait_for_publish(5)
        cleaner.disconnect()
        cleaner.loop_stop()
        daemon.wait_for(lambda: wanted[0] in retained_now(port), 15, "discovery after Home Assistant's birth")
        assert "Home Assistant started; announcing again" in daemon.log()
