"""Nearest known face for an encoding: one vectorised distance computation over the whole gallery."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from facedaemon.recognition.confidence import distance_to_confidence
from facedaemon.recognition.types import UNKNOWN

ENCODING_SIZE = 128


@dataclass(frozen=True, slots=True)
class Match:
    name: str  # person, or UNKNOWN when the best distance is above the tolerance or the gallery is empty
    distance: float | None  # best distance over the whole gallery; None when the gallery is empty
    confidence: float


@dataclass(frozen=True, eq=False)
class KnownFaces:
    """One row per known encoding; several rows may share a person's name."""

    names: tuple[str, ...] = ()
    encodings: np.ndarray = field(default_factory=lambda: np.empty((0, ENCODING_SIZE), dtype=np.float32))
    # |row|² precomputed so a query costs one matrix-vector product.
    _sq_norms: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        matrix = np.ascontiguousarray(self.encodings, dtype=np.float32).reshape(-1, ENCODING_SIZE)
        if matrix.shape[0] != len(self.names):
            raise ValueError(f"{len(self.names)} names for {matrix.shape[0]} encodings")
        matrix.setflags(write=False)
        object.__setattr__(self, "encodings", matrix)
        object.__setattr__(self, "_sq_norms", np.einsum("ij,ij->i", matrix, matrix))

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, np.ndarray]]) -> KnownFaces:
        rows = list(entries)
        if not rows:
            return cls()
        return cls(tuple(name for name, _ in rows), np.stack([np.asarray(enc) for _, enc in rows]))

    def __len__(self) -> int:
        return len(self.names)

    @property
    def people(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.names)))


def match(known: KnownFaces, encoding: np.ndarray, tolerance: float) -> Match:
    return match_many(known, np.asarray(encoding).reshape(1, -1), tolerance)[0]


def match_many(
    known: KnownFaces, encodings: np.ndarray | Iterable[np.ndarray], tolerance: float
) -> list[Match]:
    """Best match for each of several encodings (M×128) in one matrix product."""
    if not isinstance(encodings, np.ndarray):
        encodings = list(encodings)
    queries = np.asarray(encodings, dtype=np.float64).reshape(-1, ENCODING_SIZE)
    if len(queries) == 0:
        return []
    if len(known) == 0:
        return [Match(UNKNOWN, None, 0.0) for _ in queries]
    # |a-b|² = |a|² + |b|² - 2a·b: no N×128 temporary, so 100k rows stay in the millisecond range.
    q32 = queries.astype(np.float32)
    q_norms = np.einsum("ij,ij->i", q32, q32)[:, None]
    squared = known._sq_norms[None, :] - 2.0 * (q32 @ known.encodings.T) + q_norms
    best_rows = np.argmin(squared, axis=1)
    results = []
    for query, row in zip(queries, best_rows, strict=True):
        # Exact distance for the winner only; the expansion above loses precision through cancellation.
        distance = float(np.linalg.norm(known.encodings[row].astype(np.float64) - query))
        name = known.names[row] if distance <= tolerance else UNKNOWN
        results.append(Match(name, distance, distance_to_confidence(distance, tolerance)))
    return results


def person_distances(known: KnownFaces, encoding: np.ndarray) -> dict[str, float]:
    """Best distance to each person (diagnostics; matching itself only needs the overall minimum)."""
    if len(known) == 0:
        return {}
    query = np.asarray(encoding, dtype=np.float64)
    distances = np.linalg.norm(known.encodings.astype(np.float64) - query, axis=1)
    best: dict[str, float] = {}
    for name, distance in zip(known.names, distances.tolist(), strict=True):
        best[name] = min(distance, best.get(name, distance))
    return best
