"""A process killed while it writes the encodings cache (a power cut, as far as the process can tell) never leaves a
damaged cache: the file is absent, the old version or the new one, and it always loads."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from facedaemon.gallery import cache as gallery_cache
from facedaemon.gallery.cache import CacheEntry, FileStamp, read_cache, write_cache

REPO = Path(__file__).resolve().parents[2]
PARAMS = "v1 test"
ROWS = 8_000  # ~8 MB of encodings: a write takes long enough for kills to land inside it
KILLS = 20

# The child rewrites the cache for ever, alternating two versions, and says "ready" once numpy is loaded.
WRITER = f"""
import sys
from pathlib import Path
sys.path.insert(0, {str(REPO)!r})
from tests.integration.test_cache_atomic import version
from facedaemon.gallery.cache import write_cache
path = Path(sys.argv[1])
print("ready", flush=True)
n = 0
while True:
    write_cache(path, {PARAMS!r}, *version(n % 2))
    n += 1
"""


def version(which: int) -> tuple[dict[str, CacheEntry], dict[str, FileStamp]]:
    """Two distinguishable caches: every encoding 1.0 (ROWS entries) or 2.0 (ROWS - 1 entries)."""
    rows = ROWS - which
    entries = {f"{row:064x}": CacheEntry("ok", np.full(128, 1.0 + which)) for row in range(rows)}
    stamps = {f"/faces/{row}.jpg": FileStamp(f"{row:064x}", 1000 + which, row) for row in range(rows)}
    return entries, stamps


def which_version(path: Path) -> int | None:
    """None when absent; 0 or 1 for a complete version; fails on anything else."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:  # raises on a torn file
        assert set(data.files) >= {"params", "hashes", "encodings"}
    entries, stamps = read_cache(path, PARAMS)  # the daemon's reader: {} would mean "damaged, rebuilding"
    assert entries and stamps, f"{path} loads as empty: damaged"
    values = {float(entry.encoding[0]) for entry in entries.values()}
    assert len(values) == 1, f"{path} mixes versions: {values}"
    which = round(values.pop()) - 1
    assert len(entries) == len(stamps) == ROWS - which, f"{path}: {len(entries)} entries, {len(stamps)} stamps"
    return which


def test_killed_writer_never_leaves_a_damaged_cache(tmp_path):
    path = tmp_path / "cache" / "encodings.npz"
    rng = random.Random(5)
    seen: list[int | None] = []
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, cwd=REPO)
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == b"ready"
            time.sleep(rng.uniform(0.0, 0.8))
            child.send_signal(signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(10)
            if child.stdout is not None:
                child.stdout.close()
        seen.append(which_version(path))
    print(f"cache after {KILLS} kills: versions {seen}; tmp files left: "
          f"{len(list(path.parent.glob('.encodings-*.tmp')))}")
    assert {0, 1} & set(seen), f"no kill came after a complete write: {seen}"
    # Leftover temporaries are harmless to readers (never named encodings.npz); the cache still loads.
    assert which_version(path) in (0, 1)


def test_write_is_tmp_fsync_replace_then_directory_fsync(tmp_path, monkeypatch):
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        calls.append(("replace", f"{Path(src).name} -> {Path(dst).name}"))
        real_replace(src, dst)

    monkeypatch.setattr(gallery_cache.os, "fsync", fsync)
    monkeypatch.setattr(gallery_cache.os, "replace", replace)
    path = tmp_path / "encodings.npz"
    write_cache(path, PARAMS, *version(0))
    kinds = [kind for kind, _ in calls]
    assert kinds == ["fsync", "replace", "fsync"], calls
    tmp_name = Path(calls[0][1]).name
    assert tmp_name.startswith(".encodings-") and tmp_name.endswith(".tmp"), calls
    assert calls[1][1] == f"{tmp_name} -> encodings.npz"
    assert calls[2][1] == str(tmp_path), "the directory is fsynced after the rename (the rename is durable)"
    assert list(tmp_path.iterdir()) == [path]


def test_a_killed_writers_temporary_is_removed_under_the_lock(tmp_path):
    from facedaemon.gallery.cache import cache_lock

    cache = tmp_path / "cache"
    write_cache(cache / "encodings.npz", PARAMS, *version(0))
    leftover = cache / ".encodings-k1ll3d.tmp"  # what SIGKILL during a rewrite leaves (it holds encodings)
    leftover.write_bytes(b"half an npz")
    with cache_lock(cache):  # every writer of the cache (load, prune, forget) takes it
        assert not leftover.exists()
    assert which_version(cache / "encodings.npz") == 0, "the cache itself is untouched"
