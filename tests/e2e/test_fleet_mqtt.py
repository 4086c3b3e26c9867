"""Three daemons with the same camera name on one real Mosquitto: no Home Assistant entity collides, presence and
fleet-wide last-seen state are retained, and a restarted device republishes its state while the others carry on."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest

from devtools import REPO
from tests.e2e.broker import local_broker, retained_now
from tests.e2e.fleet import DEVICES, FLEET_FPS, make_fleet, require, stop_fleet
from tests.e2e.media import make_entry_clip, obama_gallery

pytestmark = pytest.mark.e2e


def wait(predicate, timeout: float, what: str, fleet=()):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        for device in fleet:
            if device.daemon is not None:
                assert device.daemon.process.poll() is None, f"{device.name} exited:\n{device.daemon.log()[-3000:]}"
        last = predicate()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def present(state: dict[str, str], device: str) -> dict | None:
    raw = state.get(f"facedaemon/{device}/door/present")
    return json.loads(raw) if raw else None


def discovery_configs(state: dict[str, str]) -> dict[str, dict]:
    return {topic: json.loads(payload) for topic, payload in state.items()
            if topic.startswith("homeassistant/sensor/facedaemon_pi")}


def everyone_sees_obama(port: int):
    """The broker's retained state once Obama is present on every device and every discovery config is in (on a
    loaded machine one snapshot may miss some; a config overwritten by another daemon never comes)."""
    state = retained_now(port, settle=0.75)  # polled: a short snapshot that misses something is simply retried
    complete = len(discovery_configs(state)) == 2 * len(DEVICES) and "facedaemon/people/obama/last_seen" in state
    return complete and all((present(state, d) or {}).get("people") == ["Obama"] for d in DEVICES) and state


@contextlib.contextmanager
def obama_on_every_door(tmp_path, shared_data, run_daemon) -> Iterator[tuple[int, list, dict[str, str]]]:
    """Mosquitto and three daemons whose `door` cameras all see Obama: yields (broker port, fleet, retained
    state); stops the fleet afterwards and checks that nothing of it is left."""
    require("mosquitto", "mosquitto")
    with local_broker(tmp_path) as port:
        clip = make_entry_clip(shared_data, tmp_path / "entry.mp4", seconds=6.0, fps=FLEET_FPS, appear_at=1.0)
        fleet = make_fleet(tmp_path, {"door": {"source": str(clip.path), "loop": True}},
                           lambda where: obama_gallery(shared_data, where / "faces"),
                           run_daemon, events={"mqtt": {"host": "127.0.0.1", "port": port}})
        try:
            for device in fleet:
                device.start()
            yield port, fleet, wait(lambda: everyone_sees_obama(port), 240, "Obama present on every device's door",
                                    fleet)
        finally:
            leftovers = stop_fleet(fleet)
        assert not leftovers


def test_three_devices_with_the_same_camera_name(tmp_path, shared_data, run_daemon):
    with obama_on_every_door(tmp_path, shared_data, run_daemon) as (port, fleet, state):
        check_no_collisions(state)
        seen = json.loads(state["facedaemon/people/obama/last_seen"])
        assert seen["name"] == "Obama" and seen["camera"] == "door" and seen["device"] in DEVICES
        assert all(state[f"facedaemon/{d}/status"] == "online" for d in DEVICES)

        pi1 = fleet[0]
        stopped = time.time()
        assert not pi1.stop()
        state = retained_now(port)
        assert state["facedaemon/pi1/status"] == "offline"
        assert state["facedaemon/pi2/status"] == state["facedaemon/pi3/status"] == "online"
        assert json.loads(state["facedaemon/people/obama/last_seen"])["name"] == "Obama"
        pi1.start()
        def back_online():
            state = retained_now(port)
            wanted = ("facedaemon/pi1/status", "facedaemon/pi1/door/present", "facedaemon/pi2/door/present",
                      "facedaemon/pi3/door/present", "facedaemon/people/obama/last_seen")
            return state.get(wanted[0]) == "online" and all(topic in state for topic in wanted) and state

        state = wait(back_online, 120, "pi1 online again", fleet)
        # right after the restart: last seen is still known, pi1's presence is the new process's own (not a
        # stale retained list from before the stop), the others never stopped seeing Obama
        assert json.loads(state["facedaemon/people/obama/last_seen"])["camera"] == "door"
        again = present(state, "pi1")
        assert again is not None and again["device"] == "pi1" and again["time"] >= stopped
        assert present(state, "pi2")["people"] == present(state, "pi3")["people"] == ["Obama"]
        wait(lambda: everyone_sees_obama(port), 180, "Obama present on pi1 again", fleet)


class Pictures:
    """The JPEGs on facedaemon/+/door/snapshot (Home Assistant's image entities), from now on."""

    def __init__(self, port: int) -> None:
        self.found: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fleet-pics-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda c, *_: c.subscribe("facedaemon/+/door/snapshot", 1)
        # live ones only: the retained placeholder of each connection is not the forget's
        self.client.on_message = lambda _c, _u, m: m.retain or self.found.append((m.topic.split("/")[1],
                                                                                   bytes(m.payload)))
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10), "the picture subscription"

    def grey(self) -> set[str]:
        """Devices that sent the small uniform placeholder (nobody's face; arrival pictures are 640 px wide and
        may show an empty scene when the worker lags behind the clip's loop)."""
        import cv2
        import numpy as np

        devices = set()
        for device, jpeg in list(self.found):
            image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            if image is not None and image.shape[1] < 320 and image.std() < 2:
                devices.add(device)
        return devices

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def check_no_collisions(state: dict[str, str]) -> None:
    """What Home Assistant would build from the retained discovery: every entity its own, one device per daemon."""
    configs = discovery_configs(state)
    assert len(configs) == 2 * len(DEVICES), sorted(configs)  # last person + present, per device's door
    unique_ids = [config["unique_id"] for config in configs.values()]
    assert len(set(unique_ids)) == len(unique_ids), unique_ids
    devices = {config["device"]["identifiers"][0] for config in configs.values()}
    assert devices == {f"facedaemon_{d}" for d in DEVICES}
    for config in configs.values():
        device = config["device"]["identifiers"][0].removeprefix("facedaemon_")
        assert config["state_topic"].startswith(f"facedaemon/{device}/door/")
        assert config["availability_topic"] == f"facedaemon/{device}/status"
    triggers = [topic for topic in state if topic.startswith("homeassistant/device_automation/")]
    assert sorted(triggers) == [f"homeassistant/device_automation/facedaemon_{d}/door_obama/config" for d in DEVICES]
    person = json.loads(state["homeassistant/sensor/facedaemon_people/obama_last_seen/config"])
    assert person["state_topic"] == "facedaemon/people/obama/last_seen"
    assert not [topic for topic in state if "unknown" in topic.lower()]  # nothing for Unknown without opting in


def test_forget_clears_the_person_from_the_broker_on_every_device(tmp_path, shared_data, run_daemon):
    """Obama is present on three devices; he is forgotten on pi2 (the CLI) and his photos vanish from pi1 and pi3
    as Syncthing would delete them: every device clears what it published about him, and no retained message on
    the broker names him any more; his arrival pictures are gone from every device's disk."""
    with obama_on_every_door(tmp_path, shared_data, run_daemon) as (port, fleet, state):
        for d in DEVICES:
            assert state[f"facedaemon/{d}/door/last_person"] == "Obama"
            assert f"homeassistant/device_automation/facedaemon_{d}/door_obama/config" in state
        assert all(list((device.tmp / "run" / "snapshots" / "door").glob("*.jpg")) for device in fleet)

        pictures = Pictures(port)  # each camera's arrival image: the last one showed Obama
        forgotten = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "facedaemon", "forget", "--config",
                                 str(fleet[1].config_path), "Obama"], cwd=REPO, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        for device in (fleet[0], fleet[2]):  # what Syncthing does on the other devices
            shutil.rmtree(device.tmp / "faces" / "Obama")

        def cleared():
            state = retained_now(port)
            named = sorted(topic for topic, payload in state.items() if "obama" in (topic + payload).lower())
            return not named and all(state.get(f"facedaemon/{d}/door/last_person") == "None"
                                     for d in DEVICES) and state
        state = wait(cleared, 60, "no retained message naming Obama", fleet)
        seconds = time.monotonic() - forgotten
        for d in DEVICES:
            assert present(state, d)["people"] == []
            assert state[f"facedaemon/{d}/door/last_person/attributes"] == "{}"
            assert state[f"facedaemon/{d}/status"] == "online"
        assert not [topic for topic in state if topic.startswith("homeassistant/device_automation/")]
        assert "homeassistant/sensor/facedaemon_people/obama_last_seen/config" not in state
        assert len(discovery_configs(state)) == 2 * len(DEVICES), "the cameras' own entities stay"
        for device in fleet:
            assert not list((device.tmp / "run" / "snapshots" / "door").glob("*.jpg")), device.name
        grey = wait(lambda: pictures.grey(), 10, "a grey picture on every device's arrival image", fleet)
        assert grey == set(DEVICES)
        pictures.close()
        print(f"\nforget → nothing on the broker names Obama after {seconds:.1f} s (three devices)")
