"""Group real photos of strangers as the unknown-face groups do (faces/grouping.py), and time 10,000 best shots.

Usage: .venv/bin/python scripts/benchmarks/group_photos.py PEOPLE_DIR [PEOPLE_DIR ...] [--timing-only]
  PEOPLE_DIR: one folder per person (<dir>/<person>/*.jpg), or the shared data (its images/ and known_faces/ are
  read as people by file name: obama*.jpg is one person). Encodings are cached in /work/cache/group-encodings.npz
  (or $GROUP_CACHE), keyed by file content, so a second run only clusters.

The photo set used for docs/performance.md (public, not ours: never committed, kept outside the repository):
LFW funneled, from github.com/umass-vis-lfw/umass-vis-lfw.github.io at 2a620cd8cceb10430f8c7012fe9fa5f0837759e9:
the people with at least 8 photos, sorted, every 9th (25 people), their first 8 photos each:
  git ls-tree -r HEAD --name-only | awk -F/ '$1=="lfw_funneled" && NF==3{print $2}' | sort | uniq -c \
    | awk '$1>=8{print $2}' | awk 'NR%9==1'
plus ../shared/data (Obama's three photos, Biden and the four known faces: one photo each).

Prints, per method and distance: purity (share of faces in a group whose majority is their person), groups per
person (mean), and the online assignment alone (as crops arrive, before any regroup). Then the time to regroup
10,000 synthetic best shots on one core (1,000 people, 10 looks each, spreads from the photo set's distances).
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from facedaemon.faces import grouping  # noqa: E402

CACHE = Path(os.environ.get("GROUP_CACHE", "/work/cache/group-encodings.npz"))
DISTANCES = (0.40, 0.45, 0.48, 0.50, 0.52, 0.55, 0.60)


def photos(folder: Path) -> list[tuple[str, Path]]:
    """(person, photo) for a folder of person folders, or the shared data layout."""
    if (folder / "images").is_dir() and (folder / "known_faces").is_dir():
        found = [(p.stem.rstrip("0123456789"), p) for p in sorted((folder / "images").glob("*.jpg"))
                 if "partial" not in p.stem]
        return found + [(p.stem, p) for p in sorted((folder / "known_faces").glob("*.jpg"))]
    return [(person.name, p) for person in sorted(folder.iterdir()) if person.is_dir()
            for p in sorted(person.glob("*.jpg"))]


def encode_all(pairs: list[tuple[str, Path]]) -> tuple[list[str], np.ndarray]:
    """The face of each photo (the largest, nearest the centre: LFW has bystanders), cached by content."""
    from facedaemon.faces import engine

    cache = dict(np.load(CACHE)) if CACHE.is_file() else {}
    fr = engine.face_recognition_module()
    names, rows = [], []
    for person, path in pairs:
        data = path.read_bytes()
        key = hashlib.sha256(data).hexdigest()[:32]
        if key not in cache:
            rgb = fr.load_image_file(str(path))
            boxes = engine.detect_full(rgb, 1.0, "hog", 1)
            if not boxes:
                cache[key] = np.full(128, np.nan)
            else:
                centre = np.array(rgb.shape[:2]) / 2
                box = max(boxes, key=lambda b: (b[2] - b[0]) - 0.5 * np.abs(
                    np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]) - centre).sum())
                cache[key] = engine.encode(rgb, [box])[0]
        if not np.isnan(cache[key]).any():
            names.append(person)
            rows.append(cache[key])
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, **cache)
    return names, np.asarray(rows)


def online(matrix: np.ndarray, threshold: float) -> list[int]:
    """Assignment alone, in arrival order (the photos shuffled with a fixed seed, as visits would interleave)."""
    order = np.random.default_rng(5).permutation(len(matrix))
    labels = [0] * len(matrix)
    owners: list[str] = []
    seen = np.empty((0, 128), dtype=np.float32)
    next_id = 0
    for index in order:
        gid = grouping.assign(seen, owners, matrix[index], threshold)
        if gid is None:
            gid, next_id = str(next_id), next_id + 1
        owners.append(gid)
        seen = np.vstack([seen, matrix[index:index + 1].astype(np.float32)])
        labels[index] = int(gid)
    return labels


def quality_table(names: list[str], matrix: np.ndarray) -> None:
    people = len(set(names))
    print(f"{len(names)} faces of {people} people")
    print("| method | distance | purity | groups per person | groups |")
    print("|---|---|---|---|---|")
    for method in (*grouping.METHODS, "online"):
        for threshold in DISTANCES:
            labels = (online(matrix, threshold) if method == "online"
                      else grouping.cluster(matrix, threshold, method))
            print(f"| {method} | {threshold:.2f} | {grouping.purity(labels, names) * 100:.1f} % | "
                  f"{grouping.groups_per_person(labels, names):.2f} | {len(set(labels))} |")


def synthetic(count: int = 10_000, people: int = 1_000) -> np.ndarray:
    """Encodings with the photo set's spreads: strangers ~0.9 apart, one person's looks ~0.4 apart."""
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 0.056, (people, 128))
    return (np.repeat(centres, count // people, axis=0) + rng.normal(0, 0.025, (count, 128))).astype(np.float32)


def timing() -> None:
    matrix = synthetic()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    for method in grouping.METHODS:
        started = time.perf_counter()
        labels = grouping.cluster(matrix, grouping.GROUP_DISTANCE, method)
        elapsed = time.perf_counter() - started
        print(f"regroup 10,000 best shots, {method}: {elapsed:.2f} s on one core ({len(set(labels))} groups)")
    started = time.perf_counter()
    for row in matrix[:100]:
        grouping.assign(matrix, [""] * len(matrix), row)
    print(f"assign one arriving face against 10,000: {(time.perf_counter() - started) * 10:.1f} ms")
    stall(matrix)


def stall(matrix: np.ndarray) -> None:
    """How long another Python thread (the worker's recognition) waits at most while a regroup runs beside it: the
    regroup runs in a thread, as in worker/groups.py; this thread wakes every 2 ms and notes the gaps."""
    done = threading.Event()
    regroup = threading.Thread(target=lambda: (grouping.cluster(matrix), done.set()))
    gaps, last = [], time.perf_counter()
    regroup.start()
    while not done.is_set():
        time.sleep(0.002)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    regroup.join()
    gaps.sort()
    print(f"another thread during that regroup: longest wait {gaps[-1] * 1000:.0f} ms, "
          f"99th percentile {gaps[int(len(gaps) * 0.99)] * 1000:.0f} ms ({len(gaps)} wake-ups)")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--timing-only" not in sys.argv:
        pairs = [pair for folder in args for pair in photos(Path(folder))]
        names, matrix = encode_all(pairs)
        quality_table(names, matrix)
    timing()


if __name__ == "__main__":
    main()
