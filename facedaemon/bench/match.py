"""The 100,000-encoding match figure, measured the way the recognition worker runs it (one OpenBLAS thread).

Run by `facedaemon bench` as `python -m facedaemon.bench.match ROWS RUNS` with OPENBLAS_NUM_THREADS=1 set before
numpy loads; prints one JSON line: the seed's way and facedaemon's, median milliseconds.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

import numpy as np

from facedaemon.bench.naive import seed_match
from facedaemon.faces.matcher import KnownFaces, match

SPREAD = 0.09  # per-dimension spread of the random encodings: faces ~1.4 apart, nobody within tolerance
TOLERANCE = 0.6


def figures(rows: int, runs: int) -> dict[str, float]:
    """Median ms to name one face against `rows` random encodings.

    facedaemon's figure is the slower of two kinds of query: a stranger (far from every row, the worst case
    for the projection index: nothing to prune by structure) and a known face (a row plus a little noise).
    """

    rng = np.random.default_rng(7)
    encodings = rng.normal(0.0, SPREAD, (rows, 128))
    names = [f"person{i}" for i in range(rows)]
    known = KnownFaces(tuple(names), encodings)
    stranger = rng.normal(0.0, SPREAD, 128)
    familiar = encodings[rows // 2] + rng.normal(0.0, 0.02, 128)
    if match(known, familiar, TOLERANCE).name != names[rows // 2]:
        raise AssertionError("the known query was not matched to its row")
    seed_list = list(encodings)  # the seed kept a Python list of arrays
    return {
        "naive_ms": median_ms(lambda: seed_match(seed_list, names, stranger), max(5, runs // 5)),
        "stranger_ms": median_ms(lambda: match(known, stranger, TOLERANCE), runs),
        "known_ms": median_ms(lambda: match(known, familiar, TOLERANCE), runs),
    }


def median_ms(call: Callable[[], object], runs: int) -> float:
    call()  # warm caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000.0)


if __name__ == "__main__":
    print(json.dumps(figures(int(sys.argv[1]), int(sys.argv[2]))))
