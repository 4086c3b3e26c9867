"""A camera restarted again and again (a reload, a reconnect) must not grow the daemon's main process: its threads
come and go, and glibc gave each new thread an arena an ended thread had left, so each arena came to keep its own
high-water mark of a camera's frames (3 MiB steps at reloads for a 640x360 camera; docs/performance.md, "Chaos
soak"). The daemon keeps one arena (facedaemon/daemon/malloc.py): no thread arena appears, and the heap's resident
size stays where the first run of the camera left it. No stopped pipeline is kept either.

Each probe runs in a fresh interpreter, as the daemon's main process does: glibc reads the arena limit once, when a
thread first needs an arena. The camera is the real pipeline and test pattern; its encoder is a sink that drops the
frames (ffmpeg is another process: its memory is not the main process's)."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from facedaemon.daemon.malloc import one_arena

GLIBC = platform.libc_ver()[0] == "glibc"
RESTARTS = 10
RUN_SECONDS = 1.0
# The heap's growth from after the first run to after the last: 0.0 MiB measured with one arena, steps of 3 MiB
# without it (2026-12-07, 10 restarts of 1 s).
HEAP_GROWTH_MIB = 1.5

PIPELINE_PROBE = """
import gc, json, sys, threading, time, weakref
mode, restarts, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
from facedaemon.daemon import malloc
if mode == "daemon":
    malloc.tune()
else:
    malloc.fix_mmap_threshold()  # as before one_arena
from devtools.memwatch import classify, mappings
from facedaemon.config.models import CameraConfig, SourceConfig, SourceKind
from facedaemon.metrics.registry import DaemonMetrics
from facedaemon.pipeline.camera import CameraPipeline
from facedaemon.sources.factory import make_source

class Dropped:
    frames = 0
    def write(self, frame):
        Dropped.frames += 1
        return True
    def stop(self, timeout=3.0):
        pass

camera = CameraConfig(name="pattern", source=SourceConfig(kind=SourceKind.PATTERN, uri="pattern"), width=640,
                      height=360, fps=15, recognize=False)
metrics = DaemonMetrics.create()
heaps, stopped = [], []
for _ in range(restarts):
    pipeline = CameraPipeline(camera, source_factory=lambda camera: make_source(camera, "ffmpeg"), sink=Dropped(),
                              metrics=metrics)
    pipeline.start()
    time.sleep(seconds)
    stopper = threading.Thread(target=pipeline.stop, args=(3.0,), name="pattern-stop")  # as the arbiter stops it
    stopper.start()
    stopper.join()
    stopped.append(weakref.ref(pipeline))
    del pipeline, stopper
    kinds = classify(mappings())
    heaps.append([kinds.get("[heap]", (0, 0))[0] + kinds.get("arena heaps", (0, 0))[0],
                  kinds.get("arena heaps", (0, 0))[1]])
gc.collect()
print(json.dumps({"heaps": heaps, "frames": Dropped.frames, "kept": sum(ref() is not None for ref in stopped)}))
"""


def restarted(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PIPELINE_PROBE, mode, str(RESTARTS), str(RUN_SECONDS)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="glibc's arenas")
def test_a_camera_restarted_ten_times_leaves_no_arena_and_no_heap_growth() -> None:
    found = restarted("daemon")
    heaps = found["heaps"]
    assert found["frames"] >= RESTARTS, "the pattern camera produced frames in each run"
    assert found["kept"] == 0, "a stopped pipeline is not kept (nor its source, sink and buffers)"
    assert [count for _, count in heaps] == [0] * RESTARTS, f"thread arenas appeared (KiB, count): {heaps}"
    growth = (heaps[-1][0] - heaps[0][0]) / 1024
    assert growth < HEAP_GROWTH_MIB, f"the heap grew {growth:.1f} MiB over {RESTARTS - 1} restarts: {heaps}"


@pytest.mark.skipif(not GLIBC, reason="glibc's arenas")
def test_without_one_arena_the_camera_threads_get_arenas_of_their_own() -> None:
    """The probe still shows the problem it guards against: glibc's default gives the camera's threads arenas."""
    heaps = restarted("glibc")["heaps"]
    assert max(count for _, count in heaps) > 0, heaps


def test_the_users_own_arena_limit_wins() -> None:
    assert one_arena({"MALLOC_ARENA_MAX": "4"}) is False

