"""What the real daemon leaves in runtime_dir: nothing readable by other users while it runs, no video and no
metrics after it stops."""

from __future__ import annotations

import os
import stat

import pytest

from devtools.daemon import write_config

pytestmark = pytest.mark.e2e


def test_runtime_files_are_private_and_gone_after_stop(tmp_path, run_daemon):
    (tmp_path / "faces").mkdir()
    cameras = {"cam": {"source": "pattern", "width": 320, "height": 240, "fps": 10, "recognize": False}}
    config_path, port = write_config(tmp_path, cameras, tmp_path / "faces")
    old = os.umask(0o022)  # a typical login shell: files would be 0644, folders 0755
    try:
        running = run_daemon.start(tmp_path, config_path, port, ready=None)
    finally:
        os.umask(old)
    try:
        running.wait_for(lambda: running.get("/hls/cam/index.m3u8").status_code == 200, 60, "HLS")
        running.wait_for(lambda: (running.runtime_dir / "metrics.prom").exists(), 10, "metrics.prom")
        seen = [running.runtime_dir, *running.runtime_dir.rglob("*")]
        assert any(p.name.endswith(".m4s") for p in seen)
        for path in seen:
            mode = stat.S_IMODE(path.lstat().st_mode)
            assert mode & 0o007 == 0, f"{path} is {oct(mode)}: readable by other users"
    finally:
        running.stop()
        running.kill_leftovers()
    left = sorted(p.name for p in running.runtime_dir.rglob("*"))
    assert not [n for n in left if n.endswith((".m4s", ".m3u8", ".mp4", ".prom"))], left
