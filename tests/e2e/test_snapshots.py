"""The picture of an arrival, on the real daemon with a real Mosquitto and a real webhook receiver: Home Assistant's
image entity is announced, the JPEG goes over MQTT before the event that links it, the link works only with a login
and serves the same JPEG, the stranger next to the known face is blurred in it (privacy.blur_unknown), and the
webhook body names the device and carries the same link."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from werkzeug.security import generate_password_hash

from devtools.daemon import write_config
from devtools.webhook import Receiver
from facedaemon.events.mqtt import blank_jpeg
from tests.e2e.blur_measure import BLURRED, KEPT, detail, drawn_mask
from tests.e2e.broker import Ordered, local_broker, retained
from tests.e2e.media import decode_video, make_stranger_clip, obama_gallery

pytestmark = pytest.mark.e2e

CAMERA = "street"
PASSWORD = "snapshot-test-password"
BASE = "https://pi.example.lan:8443"  # events.snapshots.base_url: the links other machines follow


def test_an_arrival_has_a_blurred_snapshot_over_mqtt_and_behind_the_login(tmp_path, shared_data, run_daemon):
    faces = obama_gallery(shared_data, tmp_path / "faces")
    clip = make_stranger_clip(shared_data, tmp_path / "stranger.mp4")
    source = decode_video(clip.path)
    receiver = Receiver()
    with local_broker(tmp_path) as port:
        subscriber = Ordered(port)
        events = {"mqtt": {"host": "127.0.0.1", "port": port}, "webhook": {"url": receiver.url},
                  "snapshots": {"width": 1280, "base_url": BASE}}
        config_path, http_port = write_config(
            tmp_path, {CAMERA: {"source": str(clip.path), "loop": True}}, faces, device="pi", events=events,
            privacy={"blur_unknown": True},
            auth={"enabled": True, "users": {"alice": generate_password_hash(PASSWORD)}})
        daemon = run_daemon.start(tmp_path, config_path, http_port, timeout=180)
        try:
            image = json.loads(daemon.wait_for(
                lambda: retained(port, f"homeassistant/image/facedaemon_pi/{CAMERA}_arrival/config", 1.0), 60,
                "the image entity's discovery"))
            assert image["image_topic"] == f"facedaemon/pi/{CAMERA}/snapshot"
            assert image["content_type"] == "image/jpeg" and image["unique_id"] == f"facedaemon_pi_{CAMERA}_arrival"
            assert image["device"]["identifiers"] == ["facedaemon_pi"]

            arrived = daemon.wait_for(lambda: [json.loads(p) for p in subscriber.on(f"facedaemon/pi/{CAMERA}/event")
                                               if json.loads(p)["event"] == "recognised"], 180, "Obama's arrival")[0]
            daemon.wait_for(lambda: receiver.bodies, 30, "the webhook's POST")
            daemon.wait_for(lambda: subscriber.pictures(f"facedaemon/pi/{CAMERA}/snapshot"), 30, "the JPEG")
        finally:
            subscriber.close()
        # The picture went first: a notification fired by the event finds it.
        # Each connection also retains a grey placeholder (no face) on the snapshot topic, for a restarted Home
        # Assistant: the arrival's picture is the other one.
        blank = blank_jpeg()
        topics = subscriber.topics()
        arrival = subscriber.pictures(f"facedaemon/pi/{CAMERA}/snapshot")
        pictures = [picture for _, picture in arrival]
        assert arrived["name"] == "Obama" and arrived["device"] == "pi"
        assert arrival and arrival[0][0] < topics.index(f"facedaemon/pi/{CAMERA}/event"), "the picture goes first"
        kept = retained(port, f"facedaemon/pi/{CAMERA}/snapshot", 1.0)
        assert kept in (None, blank.decode(errors="replace")), "the broker must keep no face, only the placeholder"

    link = arrived["snapshot"]
    assert link.startswith(f"{BASE}/api/snapshots/{CAMERA}/") and link.endswith(".jpg"), link
    path = link.removeprefix(BASE)
    hook = receiver.bodies[0]
    receiver.close()
    assert hook["device"] == "pi" and hook["name"] == "Obama" and hook["snapshot"] == link

    assert daemon.get(path).status_code == 401  # behind the login, like the stream
    response = daemon.get(path, auth=("alice", PASSWORD))
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert response.content == pictures[0], "the link serves the picture sent over MQTT"
    assert (daemon.runtime_dir / "snapshots" / CAMERA / path.rsplit("/", 1)[1]).is_file()
    assert daemon.get(f"/api/snapshots/{CAMERA}/20990101T000000Z-00000000.jpg",
                      auth=("alice", PASSWORD)).status_code == 404
    assert daemon.get(f"/api/snapshots/{CAMERA}/..%2fstatus.json", auth=("alice", PASSWORD)).status_code == 404

    frame = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert frame.shape == source[0].shape
    index = clip.index_of(frame)
    assert index is not None, "the frame marker is not readable in the snapshot"
    drawn = drawn_mask(frame)
    stranger = detail(frame, clip.stranger_box(index), drawn) / detail(source[index], clip.stranger_box(index), drawn)
    known = detail(frame, clip.known_box, drawn) / detail(source[index], clip.known_box, drawn)
    print(f"\nsnapshot {len(response.content)} bytes, frame {index}: stranger detail {stranger:.3f}, "
          f"known {known:.3f} (of the source's)")
    assert stranger < BLURRED and known > KEPT, (stranger, known)

