"""The identify answer without I/O: the still-photo labels (live rules on one look), the face JSON, the socket
contract's lines, the per-client request limit, and the identify server's queue bound (a fake, slow answer)."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from facedaemon.faces.matcher import Match
from facedaemon.faces.quality import LiveQuality
from facedaemon.faces.types import UNKNOWN
from facedaemon.runtime import identify as contract
from facedaemon.web.limiter import STATE_FILE, RequestLimiter, SharedLimiter
from facedaemon.worker.identify_faces import MAX_SIDE, StillFace, decode, face_json, label
from facedaemon.worker.identify_server import MAX_WAITING, FairLock, IdentifyServer

TOLERANCE = 0.6
GOOD = LiveQuality(height=120, sharpness=900.0, yaw=5.0, pitch=-3.0, score=0.9)
BOX = (100, 260, 260, 100)  # top, right, bottom, left


def face(name: str, distance: float | None, quality: LiveQuality = GOOD, runner_up: float | None = None,
         box=BOX) -> StillFace:
    return StillFace(box, Match(name, distance, 0.8), quality, runner_up)


def test_a_clear_match_is_named() -> None:
    assert label(face("Obama", 0.35), TOLERANCE) == ("Obama", None)


def test_a_look_alike_within_the_name_margin_is_not_named() -> None:
    assert label(face("Obama", 0.40, runner_up=0.43), TOLERANCE)[0] == UNKNOWN
    assert label(face("Obama", 0.40, runner_up=0.46), TOLERANCE)[0] == "Obama"


def test_a_match_on_a_look_that_cannot_be_judged_is_not_named() -> None:
    turned = LiveQuality(120, 900.0, 55.0, 0.0, 0.9)
    name, why = label(face("Obama", 0.35, turned), TOLERANCE)
    assert name == UNKNOWN and why is not None and "turned away" in why


def test_a_face_turned_33_degrees_is_named_only_on_a_close_clear_match_and_says_it_was_turned() -> None:
    turned = LiveQuality(120, 900.0, 33.0, 0.0, 0.9)
    name, why = label(face("Obama", 0.35, turned, runner_up=0.5), TOLERANCE)
    assert name == "Obama" and why is not None and "turned away" in why
    assert label(face("Obama", 0.5, turned), TOLERANCE)[0] == UNKNOWN
    assert label(face("Obama", 0.35, turned, runner_up=0.42), TOLERANCE)[0] == UNKNOWN, "the next person is near"


def test_a_miss_is_unknown_and_says_whether_it_could_be_judged() -> None:
    assert label(face(UNKNOWN, 0.8), TOLERANCE) == (UNKNOWN, None)
    small = LiveQuality(30, 900.0, 0.0, 0.0, 0.9)  # a match counts from 20 px, a miss only from 40
    name, why = label(face(UNKNOWN, 0.8, small), TOLERANCE)
    assert name == UNKNOWN and "too small" in why
    assert label(face("Obama", 0.35, small), TOLERANCE) == ("Obama", None)


def test_a_face_too_small_to_encode_is_unknown_with_no_distance() -> None:
    tiny = StillFace(BOX, None, LiveQuality(12, 50.0, None, None, 0.7))
    data = face_json(tiny, TOLERANCE)
    assert (data["name"], data["distance"], data["confidence"], data["nearest"]) == (UNKNOWN, None, 0.0, None)
    assert data["quality"]["judgeable"] is False and "too small" in data["quality"]["not_judgeable"]


def test_face_json_gives_the_box_as_x_y_w_h_in_the_photos_pixels() -> None:
    data = face_json(face("Obama", 0.351234), TOLERANCE, factor=2.0)  # face_px stays as searched (the rules)
    assert data["box"] == {"x": 200, "y": 200, "w": 320, "h": 320}
    assert data["distance"] == 0.3512 and data["name"] == "Obama" and data["nearest"] == "Obama"
    assert data["quality"] == {"face_px": 120, "sharpness": 900.0, "yaw": 5.0, "pitch": -3.0, "score": 0.9,
                               "judgeable": True, "not_judgeable": None}


def test_contract_lines_round_trip() -> None:
    assert contract.parse_head(contract.request_head(1234)) == 1234
    for bad in (b"identify 0\n", b"identify x\n", b"hello 3\n", f"identify {contract.MAX_IMAGE_BYTES + 1}\n".encode()):
        assert contract.parse_head(bad) is None
    assert contract.error(415, "not\nan image") == b"error 415 not an image\n"
    assert contract.busy(0) == b"busy 1\n"


def test_request_limiter_counts_per_client_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "limits.json"
    first, second = RequestLimiter(path, 2, 60.0), RequestLimiter(path, 2, 60.0)  # two workers
    assert first.take("a", 100.0) == 0 and second.take("a", 101.0) == 0
    assert first.take("a", 102.0) == pytest.approx(58.0)
    assert second.take("b", 102.0) == 0  # another client is not held back
    assert first.take("a", 160.5) == 0  # the first request left the window


@pytest.mark.parametrize("limiter", ["request", "login"])
def test_a_torn_limits_file_starts_afresh_for_both_limiters(tmp_path: Path, limiter: str) -> None:
    path = tmp_path / STATE_FILE
    path.write_bytes(b'{"a": [100.0, 10')  # a worker killed mid-write, or an edit
    if limiter == "request":
        assert RequestLimiter(path, 1, 60.0).take("a", 101.0) == 0
        assert json.loads(path.read_bytes()) == {"a": [101.0]}
    else:
        SharedLimiter(tmp_path, 1, 60.0).failed("a", 101.0)
        assert json.loads(path.read_bytes()) == {"failures": {"a": [101.0]}, "checks": []}


def test_server_runs_one_photo_at_a_time_and_refuses_beyond_its_queue(tmp_path: Path) -> None:
    release = threading.Event()
    running = []

    def slow(data: bytes) -> dict:
        running.append(data)
        release.wait(10)
        return {"width": 1, "height": 1, "faces": []}

    server = IdentifyServer(tmp_path / "identify.sock", slow)
    server.start()
    answers: list[contract.Answer] = []
    jpeg = b"\xff\xd8\xff" + bytes(100)
    try:
        threads = [threading.Thread(target=lambda: answers.append(contract.ask(tmp_path, jpeg, timeout=20)))
                   for _ in range(1 + MAX_WAITING)]
        for thread in threads:
            thread.start()
            deadline = time.monotonic() + 10
            while not running and time.monotonic() < deadline:  # the first one runs before the others queue
                time.sleep(0.01)
        time.sleep(0.3)
        extra = contract.ask(tmp_path, jpeg, timeout=20)
        assert (extra.status, extra.retry_after is not None and extra.retry_after >= 1) == (503, True)
        assert contract.ask(tmp_path, b"GIF89a....").status == 415  # refused at once, even while busy
        release.set()
        for thread in threads:
            thread.join(20)
        assert [a.status for a in answers] == [200] * (1 + MAX_WAITING)
        assert answers[0].body == {"width": 1, "height": 1, "faces": []}
    finally:
        release.set()
        server.stop()
    assert not (tmp_path / "identify.sock").exists()
    assert contract.ask(tmp_path, jpeg).status == 503  # no worker: unavailable, not an error


def test_no_answer_is_unavailable(tmp_path: Path) -> None:
    answer = contract.ask(tmp_path / "nowhere", np.zeros(3, np.uint8).tobytes())
    assert answer.status == 503 and answer.retry_after == 5


def test_fair_lock_hands_over_in_arrival_order() -> None:
    lock, order = FairLock(), []
    lock.__enter__()  # the photo's step holds it

    def frame() -> None:
        with lock:
            order.append("frame")

    waiting = threading.Thread(target=frame)
    waiting.start()
    deadline = time.monotonic() + 10
    while lock._next < 2 and time.monotonic() < deadline:  # until the frame took its ticket and waits
        time.sleep(0.01)
    lock.__exit__(None, None, None)
    with lock:  # the photo's next step: after the frame, though this thread released it just now
        order.append("next step")
    waiting.join(5)
    assert order == ["frame", "next step"]


@pytest.mark.parametrize(("orientation", "size"), [(1, (400, 200)), (6, (200, 400)), (8, (200, 400))])
def test_the_photos_own_size_follows_its_exif_rotation(orientation: int, size: tuple[int, int]) -> None:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", (400, 200), (10, 20, 30)).save(buffer, "JPEG", exif=exif)
    rgb, own = decode(buffer.getvalue())
    assert own == size and (rgb.shape[1], rgb.shape[0]) == size


def test_a_photo_over_the_side_limit_keeps_its_own_size() -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (MAX_SIDE * 2, MAX_SIDE), (10, 20, 30)).save(buffer, "PNG")
    rgb, own = decode(buffer.getvalue())
    assert own == (MAX_SIDE * 2, MAX_SIDE) and max(rgb.shape[:2]) == MAX_SIDE  # boxes scale back by 2
