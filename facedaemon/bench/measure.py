"""What each design did with every frame, turned into the figures of the table. Pure: times are passed in.

A Recorder is fed by the design under test: on_capture() for every frame read from the clip (the capture
thread sees every frame, so it knows when the known face first appears), on_output() for every frame handed
to the output (what labels were drawn on it). It keeps counters and a preallocated latency array, so a long
run does not grow the memory it is measuring.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from facedaemon.bench.clip import EntryClip

PENDING_INDEXES = 128  # captured frames awaiting output; older ones were dropped on the way


@dataclass
class Window:
    start: float  # wall clock (time.time())
    end: float

    def __contains__(self, t: float) -> bool:
        return self.start <= t <= self.end

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Recorder:
    clip: EntryClip
    window: Window
    capacity: int
    outputs: int = 0
    on_screen: int = 0  # output frames showing the known face
    labelled: int = 0  # … of which carry a label
    correct: int = 0  # … of which name the known person
    ghost: int = 0  # output frames with a label but no face on screen
    first_name: list[float] = field(default_factory=list)  # seconds, one per appearance
    missed_appearances: int = 0  # appearances never named before the face left
    _latency: np.ndarray = field(init=False)
    _indexes: dict[float, int] = field(default_factory=dict)
    _appeared: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._latency = np.zeros(self.capacity, dtype=np.float64)

    def on_capture(self, index: int, captured: float) -> None:
        with self._lock:
            self._indexes[captured] = index
            while len(self._indexes) > PENDING_INDEXES:
                del self._indexes[next(iter(self._indexes))]
            position = index % self.clip.frames
            if position == 0 and self._appeared is not None:
                self.missed_appearances += self._appeared in self.window
                self._appeared = None
            if position == self.clip.first_face_frame:
                self._appeared = captured

    def on_output(self, captured: float, written: float, names: Sequence[str], faces: Sequence = ()) -> None:
        with self._lock:
            index = self._indexes.pop(captured, None)
            if index is None:
                return
            if self._appeared is not None and self.clip.face_on_screen(index) and self.clip.name in names:
                if self._appeared in self.window:
                    self.first_name.append(written - self._appeared)
                self._appeared = None
            if written not in self.window:
                return
            if self.outputs < self.capacity:
                self._latency[self.outputs] = written - captured
            self.outputs += 1
            if self.clip.face_on_screen(index):
                self.on_screen += 1
                self.labelled += bool(names)
                self.correct += self.clip.name in names
            elif names:
                self.ghost += 1

    def latencies(self) -> np.ndarray:
        return self._latency[: min(self.outputs, self.capacity)]


def percentile_ms(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q) * 1000.0) if len(values) else float("nan")


def fps_out(recorder: Recorder) -> float:
    return recorder.outputs / recorder.window.seconds if recorder.window.seconds > 0 else 0.0


def growth_percent(series: Sequence[int]) -> float:
    """Median of the last tenth against the median of the first tenth (at least 3 samples each)."""
    if len(series) < 2:
        return float("nan")
    n = max(1, min(len(series) // 2, max(3, len(series) // 10)))
    first, last = float(np.median(series[:n])), float(np.median(series[-n:]))
    return (last - first) / first * 100.0 if first > 0 else float("nan")


def histogram_quantile(buckets: Sequence[tuple[float, float]], q: float) -> float:
    """Prometheus-style quantile from cumulative (upper bound, count) pairs, interpolating inside a bucket."""
    if not buckets or buckets[-1][1] <= 0:
        return float("nan")
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            inside = count - lower_count
            return lower_bound + (bound - lower_bound) * ((rank - lower_count) / inside if inside else 1.0)
        lower_bound, lower_count = bound, count
    return lower_bound


def figures(recorders: Iterable[Recorder], *, cpu_cores: float, rss: Sequence[int], source_fps: float,
            min_fps: float = 29.0) -> dict[str, float]:
    """The table's figures for one run of one design (all cameras of that run together)."""
    recs = list(recorders)
    latency = np.concatenate([r.latencies() for r in recs]) if recs else np.zeros(0)
    firsts = [v for r in recs for v in r.first_name]
    labelled = sum(r.labelled for r in recs)
    on_screen = sum(r.on_screen for r in recs)
    rates = [fps_out(r) for r in recs]
    return {
        "fps_out": min(rates) if rates else 0.0,
        "fps_ratio": (min(rates) / source_fps) if rates else 0.0,
        "dropped_per_s": max(0.0, source_fps - min(rates)) if rates else float("nan"),
        "latency_p50_ms": percentile_ms(latency, 50),
        "latency_p95_ms": percentile_ms(latency, 95),
        "first_name_ms": max(firsts) * 1000.0 if firsts else float("nan"),
        "first_name_median_ms": float(np.median(firsts)) * 1000.0 if firsts else float("nan"),
        "appearances": float(len(firsts) + sum(r.missed_appearances for r in recs)),
        "label_accuracy_pct": 100.0 * sum(r.correct for r in recs) / labelled if labelled else float("nan"),
        "label_coverage_pct": 100.0 * labelled / on_screen if on_screen else float("nan"),
        "ghost_labels": float(sum(r.ghost for r in recs)),
        "cameras_ok": float(sum(rate >= min_fps for rate in rates)),
        "cameras": float(len(recs)),
        "cpu_pct_per_camera": 100.0 * cpu_cores / len(recs) if recs else float("nan"),
        "rss_mb": (rss[-1] / 2**20) if rss else float("nan"),
        "rss_growth_pct": growth_percent(rss),
    }
