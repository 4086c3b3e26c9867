"""The live hub with real sockets and a real pipe: what a web worker sees on runtime_dir/live.sock."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from facedaemon.outputs.live.boxes import FragmentSplitter
from facedaemon.outputs.live.hub import LiveHub
from facedaemon.runtime import live as contract
from tests.fmp4_stream import fragment, init_segment


@pytest.fixture
def hub(tmp_path: Path):
    counts: dict[str, list] = {"viewers": [], "frames": []}
    hub = LiveHub(tmp_path, on_viewers=lambda c, n: counts["viewers"].append(n),
                  on_frames=lambda c, s, d: counts["frames"].append((s, d)), max_queued=5)
    hub.start()
    hub.counts = counts  # type: ignore[attr-defined]
    yield hub
    hub.stop()


def viewer(tmp_path: Path, camera: str = "door", rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    contract.connect(sock, contract.socket_path(tmp_path))
    sock.sendall(contract.request(camera))
    sock.settimeout(5)
    return sock


def read_for(sock: socket.socket, seconds: float) -> bytes:
    data, deadline = b"", time.monotonic() + seconds
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
    return data


def frames_in(stream: bytes) -> list:
    assert stream.startswith(contract.OK)
    return FragmentSplitter().feed(stream[len(contract.OK):])


def test_unknown_camera_is_refused(hub, tmp_path: Path) -> None:
    hub.feed("door")
    sock = viewer(tmp_path, "garage")
    assert sock.recv(100).startswith(contract.REFUSED)
    assert sock.recv(100) == b""


def test_viewers_get_the_init_and_gop_then_every_frame_and_a_stalled_one_does_not_hold_them(hub, tmp_path) -> None:
    feed = hub.feed("door")
    read, write = os.pipe()
    feed.attach(read)
    big = b"x" * 60_000  # frames large enough that a viewer that reads nothing fills its socket at once
    os.write(write, init_segment() + fragment(True, frame=big) + fragment(False, frame=big))
    time.sleep(0.3)
    stalled = viewer(tmp_path, rcvbuf=4096)  # connects, never reads
    reader = viewer(tmp_path)
    try:
        got: list[bytes] = []
        thread = threading.Thread(target=lambda: got.append(read_for(reader, 3.0)))
        thread.start()
        time.sleep(0.3)
        os.set_blocking(write, False)  # what ffmpeg must never meet: a pipe the daemon stopped draining
        for n in range(60):  # two seconds of 30 fps, a keyframe each second
            data = fragment(n % 30 == 0, frame=big)
            deadline = time.monotonic() + 1.0
            while data:
                try:
                    data = data[os.write(write, data):]
                except BlockingIOError:
                    assert time.monotonic() < deadline, "the hub stopped draining ffmpeg's pipe"
                    time.sleep(0.01)
            time.sleep(1 / 30)
        thread.join()
        pieces = frames_in(got[0])
        assert pieces[0].kind == "init" and pieces[1].key, "joins with the init segment and the current GOP"
        assert len(pieces) == 1 + 2 + 60, f"the reader got {len(pieces) - 1} of 62 frames beside a stalled viewer"
        assert sum(dropped for _, dropped in hub.counts["frames"]) > 0, "the stalled viewer's frames were dropped"
        os.close(write)  # ffmpeg ends: the run's viewers are closed
        reader.settimeout(5)
        while chunk := reader.recv(1 << 16):  # TimeoutError if the hub kept it open
            assert len(chunk) > 0
    finally:  # closing them also frees a hub that (wrongly) blocked on the stalled one
        stalled.close()
        reader.close()


def test_viewers_past_the_cap_are_refused_and_a_place_frees_when_one_leaves(hub, tmp_path, caplog) -> None:
    hub.feed("door")
    hub.feed("garage")
    hub.max_viewers = 2
    first, second = viewer(tmp_path), viewer(tmp_path)
    assert first.recv(len(contract.OK)) == contract.OK and second.recv(len(contract.OK)) == contract.OK
    third = viewer(tmp_path)
    answer = third.recv(200)
    assert answer.startswith(contract.REFUSED) and b"live.max_viewers allows 2" in answer, answer
    assert third.recv(100) == b""
    other = viewer(tmp_path, "garage")  # the cap is per camera
    assert other.recv(len(contract.OK)) == contract.OK
    assert "door: 2 viewers" in caplog.text
    first.close()
    deadline = time.monotonic() + 5
    while hub._count("door") > 1 and time.monotonic() < deadline:  # the hub sees the viewer leave
        time.sleep(0.02)
    again = viewer(tmp_path)
    assert again.recv(len(contract.OK)) == contract.OK
    hub.max_viewers = 0  # off: nobody new, nobody watching cut
    off = viewer(tmp_path)
    assert b"the live path is off" in off.recv(200)
    assert hub._count("door") == 2
    for sock in (second, third, other, again, off):
        sock.close()
