"""The event hub with the real snapshot store (real JPEG files): an arrival waits for its picture and leaves after
it, a camera that gives no frame delays it at most SNAPSHOT_WAIT, a stopped camera not at all, events keep their
order, and a person who leaves the gallery leaves the queue and the disk."""

from __future__ import annotations

import threading
import time

import numpy as np

from facedaemon.config.events import SnapshotsConfig
from facedaemon.events.hub import SNAPSHOT_WAIT, EventHub
from facedaemon.events.presence import PresenceTracker
from facedaemon.events.sinks import NoSnapshots, SinkCounters
from facedaemon.faces.types import FaceResult, RecognitionResult
from facedaemon.runtime.snapshots import SNAPSHOTS_DIR, SnapshotStore
from tests.polling import wait


class Recorder(NoSnapshots):
    name = "recorder"

    def __init__(self) -> None:
        self.counters = SinkCounters(None, self.name, ())
        self.calls: list[tuple[str, object]] = []

    def start(self) -> None:
        pass

    def stop(self, timeout: float) -> None:
        pass

    def publish(self, event) -> None:
        self.calls.append(("event", event))

    def publish_snapshot(self, camera: str, jpeg: bytes) -> None:
        self.calls.append(("picture", jpeg))


class Camera:
    """grab(): 'running' answers from another thread with a frame, 'stalled' accepts and never answers."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def grab(self, camera: str, callback) -> bool:
        if self.mode == "running":
            frame = np.full((72, 128, 3), 90, np.uint8)
            threading.Thread(target=callback, args=(frame,), daemon=True).start()
        return self.mode != "stopped"


def result(t: float, *names: str) -> RecognitionResult:
    faces = tuple(FaceResult(name=n, confidence=0.9, box=(10, 60, 60, 10), track=i + 1, distance=0.4)
                  for i, n in enumerate(names))
    return RecognitionResult(camera="door", frame_time=t, faces=faces, inference_seconds=0.1, encoded=len(faces))


def hub_with(tmp_path, mode: str) -> tuple[EventHub, Recorder]:
    sink = Recorder()
    store = SnapshotStore(SnapshotsConfig(), tmp_path, Camera(mode).grab)
    hub = EventHub(PresenceTracker(grace=2.0), [sink], snapshots=store, base_url="https://pi.lan")
    hub.start()
    return hub, sink


def test_the_picture_goes_first_and_the_event_links_it(tmp_path):
    hub, sink = hub_with(tmp_path, "running")
    try:
        now = time.time()
        hub.on_result(result(now, "Obama"))
        assert wait(lambda: len(sink.calls) == 2, 5), sink.calls
        (kind, jpeg), (_, event) = sink.calls
        assert kind == "picture" and jpeg[:2] == b"\xff\xd8"
        assert event.snapshot.startswith("https://pi.lan/api/snapshots/door/")
        assert (tmp_path / SNAPSHOTS_DIR / "door" / event.snapshot.rsplit("/", 1)[1]).read_bytes() == jpeg
        hub.on_result(result(now + 5))  # Obama left (missed on two results in a row): after his arrival, never before
        hub.on_result(result(now + 5.2))
        assert [c[1].kind for c in sink.calls if c[0] == "event"] == ["recognised", "left"]
    finally:
        hub.stop()


def test_a_stalled_camera_delays_the_event_at_most_the_wait_and_a_stopped_one_not_at_all(tmp_path):
    hub, sink = hub_with(tmp_path / "stalled", "stalled")
    try:
        hub.on_result(result(time.time(), "Obama"))
        hub.tick()
        assert sink.calls == [], "the event waits for its picture"
        time.sleep(SNAPSHOT_WAIT + 0.1)
        hub.tick()
        assert [(k, e.snapshot) for k, e in sink.calls] == [("event", None)]
    finally:
        hub.stop()
    hub, sink = hub_with(tmp_path / "stopped", "stopped")
    try:
        hub.on_result(result(time.time(), "Obama"))
        assert [(k, e.snapshot) for k, e in sink.calls] == [("event", None)]
    finally:
        hub.stop()


def test_a_forgotten_person_leaves_the_queue_and_the_disk(tmp_path):
    hub, sink = hub_with(tmp_path, "running")
    try:
        hub.set_people(["Obama", "Biden"])
        hub.on_result(result(time.time(), "Obama"))
        assert wait(lambda: len(sink.calls) == 2, 5)
        assert list((tmp_path / SNAPSHOTS_DIR / "door").glob("*.jpg"))
        hub.set_people(["Biden"])
        assert not list((tmp_path / SNAPSHOTS_DIR / "door").glob("*.jpg")), "his picture is erased"
        hub.on_result(result(time.time() + 1, "Obama"))  # a result from before the reload still names him
        time.sleep(0.3)
        hub.tick()
        assert len(sink.calls) == 2, "no event names a forgotten person"
    finally:
        hub.stop()
