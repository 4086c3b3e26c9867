"""The real daemon's HLS over HTTP: frame spacing across segment boundaries is the encoder's (issues 15 and 25).

The reference is the daemon's own live stream of the same encoder run (/live/cam, read over HTTP from before the
segments were written): the same packets, on the same timeline, without the HLS muxer. Not the stream's usual
spacing: on a loaded machine ffmpeg stamps the frames around a keyframe late and then in a burst, rightly.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests

from tests import ffmpegs
from tests.hls_timing import assert_boundaries_follow_stamps, join_segments, packet_times

pytestmark = pytest.mark.e2e

SEGMENTS = 6


class LiveRecorder:
    """Reads /live/<camera> in a thread until stopped: the encoder's packets from the keyframe it joined at."""

    def __init__(self, url: str) -> None:
        self.body = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()

    def _read(self, url: str) -> None:
        with requests.get(url, stream=True, timeout=10) as response:
            assert response.status_code == 200, response.text
            for chunk in response.iter_content(None):
                self.body += chunk
                if self._stop.is_set():
                    return

    def stop(self) -> bytes:
        self._stop.set()
        self._thread.join(15)
        assert not self._thread.is_alive(), "the live stream stopped sending"
        return bytes(self.body)


def test_served_segments_join_without_a_stutter(run_daemon, tmp_path: Path) -> None:
    cameras = {"cam": {"source": "pattern", "width": 320, "height": 240, "fps": 30, "recognize": False}}
    daemon = run_daemon(tmp_path, cameras, hls={"segment_seconds": 0.5, "playlist_size": SEGMENTS}, timeout=60)

    def listed() -> list[str]:
        response = daemon.get("/hls/cam/index.m3u8")
        return [line for line in response.text.splitlines() if line and not line.startswith("#")] \
            if response.status_code == 200 else []

    # The live stream starts at the keyframe of the segment being written: every segment not yet listed is in it.
    daemon.wait_for(listed, 30, "a first segment", interval=0.2)
    live = LiveRecorder(daemon.base_url + "/live/cam")
    daemon.wait_for(lambda: len(live.body) > 0, 10, "the live stream's first bytes", interval=0.1)
    before = set(listed())
    names = daemon.wait_for(lambda: (found := [name for name in listed() if name not in before]) and
                            len(found) >= SEGMENTS and found, 30, f"{SEGMENTS} new segments", interval=0.2)
    init = daemon.get("/hls/cam/init.mp4")
    segments = [daemon.get(f"/hls/cam/{name}") for name in names]
    (tmp_path / "live.mp4").write_bytes(live.stop())
    assert init.status_code == 200 and all(segment.status_code == 200 for segment in segments)
    ffmpeg = ffmpegs.SUITE()
    joined = join_segments(ffmpeg, init.content, [segment.content for segment in segments], tmp_path)
    assert_boundaries_follow_stamps(joined, packet_times(ffmpeg, tmp_path / "live.mp4"))
