"""The real daemon's HLS over HTTP: frame spacing across segment boundaries like everywhere else (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import ffmpegs
from tests.hls_timing import assert_no_boundary_stutter, join_segments

pytestmark = pytest.mark.e2e

SEGMENTS = 6


def test_served_segments_join_without_a_stutter(run_daemon, tmp_path: Path) -> None:
    cameras = {"cam": {"source": "pattern", "width": 320, "height": 240, "fps": 30, "recognize": False}}
    daemon = run_daemon(tmp_path, cameras, hls={"segment_seconds": 0.5, "playlist_size": SEGMENTS}, timeout=60)

    def listed() -> list[str] | None:
        response = daemon.get("/hls/cam/index.m3u8")
        names = [line for line in response.text.splitlines() if line and not line.startswith("#")]
        return names if response.status_code == 200 and len(names) >= SEGMENTS else None

    names = daemon.wait_for(listed, 30, f"{SEGMENTS} segments in the playlist", interval=0.2)
    init = daemon.get("/hls/cam/init.mp4")
    segments = [daemon.get(f"/hls/cam/{name}") for name in names]
    assert init.status_code == 200 and all(segment.status_code == 200 for segment in segments)
    joined = join_segments(ffmpegs.SUITE(), init.content, [segment.content for segment in segments], tmp_path)
    assert_no_boundary_stutter(joined)
