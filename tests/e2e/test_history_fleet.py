"""The fleet-wide view docs/history.md promises: Home Assistant's history and logbook record one state change of a
camera's `present` sensor per visit. The real daemon and Mosquitto: Obama is absent for the first 4 s of every 8 s
loop (past both graces), so each loop is one visit; the `present` messages that bring him in are as many as the
visits the daemon's history recorded."""

from __future__ import annotations

import json
import sqlite3

import pytest

from devtools.processes import free_port
from tests.e2e.broker import Subscriber, mosquitto
from tests.e2e.media import gallery, make_entry_clip

pytestmark = pytest.mark.e2e


def arrivals(payloads: list[str], name: str) -> int:
    """State changes of a `present` sensor that bring `name` in."""
    count, here = 0, False
    for payload in payloads:
        now = name in json.loads(payload)["people"]
        count += now and not here
        here = now
    return count


def test_one_present_state_change_per_visit(tmp_path, shared_data, run_daemon):
    port = free_port()
    with mosquitto(tmp_path, f"listener {port} 127.0.0.1\n", port):
        faces = gallery(shared_data, tmp_path / "faces", obama=("obama2.jpg",))
        clip = make_entry_clip(shared_data, tmp_path / "entry.mp4", seconds=8.0, appear_at=4.0)
        subscriber = Subscriber(port)
        daemon = run_daemon(tmp_path, {"door": {"source": str(clip.path), "loop": True}}, faces, ready=None,
                            device="pi", events={"mqtt": {"host": "127.0.0.1", "port": port}},
                            history={"grace": "2s"})
        try:
            topic = "facedaemon/pi/door/present"
            # Three arrivals: the loop is 8 s; allow a slow start and a loaded machine.
            daemon.wait_for(lambda: arrivals(subscriber.on(topic), "Obama") >= 3, 120, "three arrivals of Obama")
        finally:
            daemon.stop()
            subscriber.close()
    conn = sqlite3.connect(tmp_path / "state" / "history.sqlite3")
    visits = conn.execute("SELECT count(*) FROM visits WHERE person = 'Obama' AND camera = 'door'").fetchone()[0]
    conn.close()
    assert visits == arrivals(subscriber.on(topic), "Obama"), subscriber.on(topic)
