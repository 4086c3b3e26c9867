"""The labels benchmark's table: per clip, detector and role, each run's figures and their median. Pure.

A run's figures come from LabelsRecorder.figures(). Percentages are of the labelled samples (output frames on which
the face had a box); "no box" is the share of all samples on which it had none (not detected yet, or not found:
HOG does not find turned faces), so a detector that misses faces cannot look better by drawing fewer labels
without showing it.
"""

from __future__ import annotations

import math

import numpy as np

ROLE_TEXT = {"known": "known person", "stranger": "strangers"}
CLIP_TEXT = {"turn": "turning left/right/down: synthetic turn (perspective warp)",
             "walk": "walking far → near (face 24 → 220 px)",
             "strangers": "strangers only (frontal)",
             "both": "both together",
             "footage": "REAL footage: known person turning his head (3DDFA obama.mp4, looped)"}
FIGURES = ("samples", "right_pct", "unknown_pct", "face_pct", "wrong", "none_pct", "first_ms", "missed",
           "unknown_tracks", "unknown_events", "settled_pct")
HEADER = ("| clip (720p) | detector | who | labelled samples | right name | Unknown | neutral \"face\" | wrongly named "
          "| no box | first appearance → name / Unknown (ms, worst) | after that: still name / Unknown "
          "| tracks drawn Unknown | unknown visitor events |")
COLUMNS = 13


def run_row(figures: dict, role: str) -> dict[str, float] | None:
    """One run's figures for one role; None when the clip has no such face."""
    part = figures[role]
    counts = part["counts"]
    labelled = sum(v for k, v in counts.items() if k != "none")
    total = labelled + counts["none"]
    if total == 0:
        return None

    def pct(key: str) -> float:
        return 100.0 * counts[key] / labelled if labelled else math.nan

    first = part["first_ms"]
    return {
        "samples": float(labelled),
        "right_pct": pct("right") if role == "known" else math.nan,
        "unknown_pct": pct("unknown"),
        "face_pct": pct("face"),
        "wrong": float(counts["wrong"]),
        "none_pct": 100.0 * counts["none"] / total,
        # An appearance never labelled as it should be makes the worst time infinite.
        "first_ms": math.inf if part["missed"] else (float(max(first)) if first else math.nan),
        "missed": float(part["missed"]),
        "unknown_tracks": float(part["unknown_tracks"]) if figures.get("tracks", True) else math.nan,
        # The daemon's own event rule over what was drawn (runs from before it was counted have none).
        "unknown_events": float(part["unknown_events"]) if "unknown_events" in part else math.nan,
        "settled_pct": _settled_pct(part.get("settled"), "right" if role == "known" else "unknown"),
    }


def _settled_pct(counts: dict[str, int] | None, wanted: str) -> float:
    """Of the labelled samples from the first one labelled as wanted on, the share labelled as wanted."""
    if not counts:
        return math.nan
    labelled = sum(v for k, v in counts.items() if k != "none")
    return 100.0 * counts[wanted] / labelled if labelled else math.nan


def median_row(rows: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs (NaN where no run has it; inf stays inf when most runs are inf)."""
    out = {}
    for key in FIGURES:
        values = [r[key] for r in rows if not math.isnan(r[key])]
        out[key] = float(np.median(values)) if values else math.nan
    return out


def _num(value: float, digits: int = 1, unit: str = "") -> str:
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "never"
    return f"{value:.{digits}f}{unit}"


def cells(row: dict[str, float]) -> list[str]:
    return [_num(row["samples"], 0), _num(row["right_pct"], 1, " %"), _num(row["unknown_pct"], 1, " %"),
            _num(row["face_pct"], 1, " %"), _num(row["wrong"], 0), _num(row["none_pct"], 1, " %"),
            _num(row["first_ms"], 0), _num(row["settled_pct"], 1, " %"), _num(row["unknown_tracks"], 0),
            _num(row["unknown_events"], 0)]


def table(results: dict[str, dict[str, list[dict]]]) -> str:
    """results[clip kind][detector] = every run's figures. One line per clip, detector and role: the medians; then
    one line per run."""
    medians = [HEADER, _rule(COLUMNS)]
    singles = [HEADER.replace("| detector |", "| detector, run |") + " load average before → after |",
               _rule(COLUMNS + 1)]
    for clip, by_detector in results.items():
        for detector, runs in by_detector.items():
            for role in ("known", "stranger"):
                rows = [r for r in (run_row(run, role) for run in runs) if r is not None]
                if not rows:
                    continue
                head = [CLIP_TEXT[clip], detector, ROLE_TEXT[role]]
                medians.append(_line(head + cells(median_row(rows))))
                for number, (run, row) in enumerate(((run, run_row(run, role)) for run in runs), 1):
                    if row is not None:
                        singles.append(_line([CLIP_TEXT[clip], f"{detector}, run {number}", ROLE_TEXT[role],
                                              *cells(row), _load(run)]))
    return "\n".join(medians) + "\n\nEvery run:\n\n" + "\n".join(singles)


def _load(run: dict) -> str:
    load = run.get("load")
    return f"{load[0]:.1f} → {load[1]:.1f}" if load else "—"


def _rule(columns: int) -> str:
    return "|" + "---|" * columns


def _line(cells_: list[str]) -> str:
    return "| " + " | ".join(cells_) + " |"
