"""The recognition worker must start whatever another thread is doing with OpenCV at that moment.

OpenCV's loader puts its own folder on sys.path while `import cv2` runs, and a spawned child starts from the parent's
sys.path as it is at start(): a worker spawned then finds cv2/typing for `typing` and dies at start (a one-hour chaos
soak: the MQTT thread imported cv2 for the first snapshot as the worker started). The widest gap is the native
module's own start (~10 ms here): it sits in sys.modules, not marked as initializing, so an `import cv2` from the
starting thread returns at once.

Each probe runs in a fresh interpreter (cv2 imports once per process): a thread imports cv2, and the probe waits
until the native module sits in sys.modules (the package has a __path__, the native module none), the worst moment
to arrive. Then it does what the client does before start() and spawns a real child, which reports the sys.path it
started with (exit code 3 if OpenCV's folder is on it). Without the wait for the path, 5 probes of 5 found it still
altered (2026-12-07)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBES = 3

PROBE = """
import importlib, json, multiprocessing, sys, threading
import numpy  # loaded before cv2 in the daemon too
from multiprocessing import resource_tracker
from facedaemon.worker.client import _await_cv2_import

resource_tracker.ensure_running()  # the client's queues started it long before: start() must not wait on it here
importer = threading.Thread(target=importlib.import_module, args=("cv2",))
importer.start()
while importer.is_alive():
    module = sys.modules.get("cv2")
    if module is not None and not hasattr(module, "__path__"):
        break
caught = importer.is_alive()
_await_cv2_import()
altered = [p for p in sys.path if "cv2" in p.split("/")]
CHILD = "import sys; sys.exit(3 if [p for p in sys.path if 'cv2' in p.split('/')] else 0)"
child = multiprocessing.get_context("spawn").Process(target=exec, args=(CHILD,))
child.start()
child.join(60)
importer.join()
print(json.dumps({"caught": caught, "altered": altered, "exitcode": child.exitcode}))
"""


def _probe() -> tuple[bool, str | None]:
    """Whether the probe caught another thread's `import cv2` starting the native module, and what went wrong."""
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False)
    if run.returncode != 0:
        return True, f"the probe failed: {run.stderr[-2000:]}"
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    if seen["altered"]:
        return seen["caught"], f"start() would have run with OpenCV's folder on sys.path: {seen['altered']}"
    if seen["exitcode"] != 0:
        return seen["caught"], f"the child started with OpenCV's folder on sys.path (exit {seen['exitcode']})"
    return seen["caught"], None


def test_a_worker_spawned_while_another_thread_imports_cv2_starts_with_the_users_sys_path():
    # A probe that arrives after the import ended proves nothing (it has caught the moment in every run here).
    probes = [_probe() for _ in range(PROBES)]
    assert [problem for _, problem in probes if problem] == []
    assert any(caught for caught, _ in probes), "no probe arrived while the native module was starting"
