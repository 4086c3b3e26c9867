"""runtime_dir full, then freed: the daemon keeps running and streaming resumes by itself."""

from __future__ import annotations

import subprocess
import time

import pytest

from devtools.daemon import write_config
from tests.realparts import missing

pytestmark = pytest.mark.e2e


@pytest.fixture
def small_runtime(tmp_path):
    mount = tmp_path / "run"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True,
                            text=True)
    if result.returncode != 0:
        missing("tmpfs mount", f"cannot mount a small tmpfs to fill (needs root): {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def newest_segment_age(folder) -> float:
    segments = list(folder.glob("seg_*.m4s"))
    return time.time() - max(p.stat().st_mtime for p in segments) if segments else float("inf")


def test_full_runtime_dir_then_freed(tmp_path, small_runtime, run_daemon):
    (tmp_path / "faces").mkdir()
    cameras = {"cam": {"source": "pattern", "width": 640, "height": 360, "fps": 15, "recognize": False}}
    config_path, port = write_config(tmp_path, cameras, tmp_path / "faces", runtime_dir=str(small_runtime))
    daemon = run_daemon.start(tmp_path, config_path, port, ready=None)
    daemon.wait_for(lambda: daemon.get("/hls/cam/index.m3u8").status_code == 200, 60, "HLS")
    filler = small_runtime / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)  # until ENOSPC
    daemon.wait_for(lambda: "No space left on device" in daemon.log(), 30, "the daemon to notice")
    time.sleep(5)
    assert daemon.process.poll() is None, "the daemon survives a full disk"
    assert daemon.get("/healthz").status_code in (200, 503), "the web app still answers"
    filler.unlink()
    freed = time.time()
    daemon.wait_for(lambda: newest_segment_age(small_runtime / "cam") < time.time() - freed, 45,
                    "a new segment after the disk was freed")
    daemon.wait_for(lambda: daemon.get("/healthz").status_code == 200, 30, "/healthz ok again")
    assert daemon.get("/hls/cam/index.m3u8").text.startswith("#EXTM3U")
    assert "Traceback" not in daemon.log()
