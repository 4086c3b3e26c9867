"""One gallery for three devices: faces_dir replicated by three real Syncthing instances on loopback (default
intervals), three real daemons watching it. Enrol on A -> named on B and C; forget on B -> no photo, encoding or
name of that person on any device's disk, and no daemon names them any more. The seconds are printed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from devtools import REPO
from devtools.daemon import status
from tests.e2e.fleet import DEVICES, FLEET_FPS, make_fleet, require, stop_fleet
from tests.e2e.media import make_people_clip
from tests.e2e.syncthing import FOLDER, Syncthing

pytestmark = pytest.mark.e2e

STIGNORE = REPO / "etc" / "syncthing" / "stignore"
PERSON = "Obama"


def cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "facedaemon", *args], capture_output=True, text=True, timeout=300,
                          cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def names_on(device) -> set[str]:
    try:
        camera = status(device.daemon)["cameras"].get("people") or {}
    except (OSError, ValueError):  # not written yet, or replaced while read
        return set()
    return {face["name"] for face in camera.get("faces", [])}


def encodings_in(cache: Path) -> list[bytes]:
    """Every 128-float row of the device's encodings cache, as the bytes a leftover copy would contain."""
    found = []
    with np.load(cache / "encodings.npz") as data:
        for key in data.files:
            array = data[key]
            if array.dtype.kind == "f" and array.ndim >= 1 and array.shape[-1] == 128:
                found += [np.asarray(row, dtype=np.float64).tobytes() for row in array.reshape(-1, 128)]
    return found


def traces(root: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if PERSON in str(path.relative_to(root)):
            hits.append(str(path))
        elif path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            hits += [f"{path}: {needle[:16]!r}…" for needle in needles if needle in data]
    return hits


def wait(predicate, timeout: float, what: str, fleet=(), syncthings=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for device in fleet:
            assert device.daemon.process.poll() is None, f"{device.name} exited:\n{device.daemon.log()[-3000:]}"
        for st in syncthings:
            assert st.process.poll() is None, f"syncthing {st.name} exited:\n{st.log()}"
        if value := predicate():
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_enrol_on_one_device_named_on_the_others_forget_gone_everywhere(tmp_path, shared_data, run_daemon):
    binary = require("syncthing", "syncthing")
    clip = make_people_clip(shared_data, tmp_path / "people.mp4", fps=FLEET_FPS)

    def faces_of(where: Path) -> Path:
        faces = where / "faces"
        faces.mkdir()
        shutil.copy(STIGNORE, faces / ".stignore")
        return faces

    # cache_dir and unknowns.dir at their defaults, inside faces_dir: the ignore file must keep them local
    fleet = make_fleet(tmp_path, {"people": {"source": str(clip), "loop": True}}, faces_of, run_daemon, cache_dir=None,
                       unknowns={"save": True})
    syncthings = [Syncthing(binary, tmp_path / f"st-{name}", name) for name in DEVICES]
    try:
        for st in syncthings:
            st.start()
        for st, device in zip(syncthings, fleet, strict=True):
            st.share(device.tmp / "faces", [peer for peer in syncthings if peer is not st])
        wait(lambda: all(len(st.connected()) == 2 for st in syncthings), 120, "the three Syncthings connected",
             syncthings=syncthings)
        for device in fleet:
            device.start()
        # recognition runs on every device and nobody is known yet
        wait(lambda: all(names_on(d) == {"Unknown"} for d in fleet), 240, "Unknown faces on every device", fleet,
             syncthings)

        a, b, c = fleet
        cli("enroll", "--config", str(a.config_path), PERSON, str(shared_data / "images" / "obama2.jpg"),
            str(shared_data / "images" / "obama3.jpg"))
        enrolled = time.monotonic()
        named = {}
        for device in (b, c):
            wait(lambda d=device: PERSON in names_on(d), 90, f"{PERSON} named on {device.name}", fleet, syncthings)
            named[device.name] = time.monotonic() - enrolled
        photos = {d.name: sorted(p.name for p in (d.tmp / "faces" / PERSON).iterdir()) for d in fleet}
        assert photos[a.name] == photos[b.name] == photos[c.name] and len(photos[a.name]) == 2
        # each device keeps its own cache and crops: Syncthing's global view of the folder has neither
        tree = syncthings[0].api("GET", f"/rest/db/browse?folder={FOLDER}&levels=0")
        shared = set(tree) if isinstance(tree, dict) else {entry["name"] for entry in tree}
        local = {".facedaemon-cache", ".facedaemon-locks", ".unknowns", ".stignore"}
        assert PERSON in shared and not shared & local, shared
        for device in fleet:
            assert (device.tmp / "faces" / ".facedaemon-cache" / "encodings.npz").is_file(), device.name
        secrets = sorted({row for d in fleet for row in encodings_in(d.tmp / "faces" / ".facedaemon-cache")})
        assert secrets, "the test must see the encodings before the erasure"

        cli("forget", "--config", str(b.config_path), PERSON)
        forgotten = time.monotonic()
        gone = {}
        for device in (b, a, c):
            def clean(d=device):
                return not (d.tmp / "faces" / PERSON).exists() and PERSON not in names_on(d)
            wait(clean, 90, f"{PERSON} gone from {device.name}'s disk and memory", fleet, syncthings)
            gone[device.name] = time.monotonic() - forgotten
        time.sleep(5)  # a later reload must not bring anything back
        for device in fleet:
            assert PERSON not in names_on(device), device.name
            left = traces(device.tmp / "faces", secrets) + traces(device.tmp / "run", [*secrets, PERSON.encode()])
            assert not left, f"{device.name} still holds: {left[:5]}"
        print(f"\nenrol on {a.name} -> named on " + ", ".join(f"{n} {s:.1f} s" for n, s in named.items())
              + f"; forget on {b.name} -> gone (disk and memory) on "
              + ", ".join(f"{n} {s:.1f} s" for n, s in gone.items()))
        assert max(named.values()) < 90 and max(gone.values()) < 90
    finally:
        leftovers = stop_fleet(fleet)
        for st in syncthings:
            st.stop()
    assert not leftovers
