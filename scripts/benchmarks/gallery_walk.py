"""Time the hot-reload stat walk (gallery.snapshot) over a synthetic faces_dir of N photos.

Usage: .venv/bin/python scripts/benchmarks/gallery_walk.py [N=10000] [PEOPLE=500]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from facedaemon.gallery.watch import snapshot


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    people = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    with tempfile.TemporaryDirectory() as tmp:
        faces = Path(tmp) / "faces"
        for i in range(count):
            folder = faces / f"person{i % people:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"photo{i:05d}.jpg").write_bytes(b"x" * 100)
        times = []
        for _ in range(20):
            started = time.perf_counter()
            found = snapshot(faces, faces / ".facedaemon-cache")
            times.append(time.perf_counter() - started)
        assert len(found) == count
        print(f"{count} photos in {people} folders: snapshot median {statistics.median(times) * 1000:.1f} ms, "
              f"max {max(times) * 1000:.1f} ms (20 runs, warm cache)")


if __name__ == "__main__":
    main()
