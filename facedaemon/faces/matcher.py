"""Nearest known face for an encoding: one vectorised distance computation over the whole gallery."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from facedaemon.faces.confidence import distance_to_confidence
from facedaemon.faces.types import UNKNOWN

ENCODING_SIZE = 128
INDEX_MIN_ROWS = 20_000  # below this the full product already takes well under a millisecond
INDEX_DIMS = 48  # principal axes kept: a quarter of the bytes to stream, and few rows survive the bound
INDEX_MAX_SHARE = 0.02  # more candidates than this and the bound is not pruning: the full product is cheaper
BOUND_SLACK = 1e-4  # float32 rounding in the projected distances; a candidate too many is harmless
WITHIN_SLACK = 0.01  # the same for rows_within, on the distance


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
    _index: ProjectionIndex | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        matrix = np.ascontiguousarray(self.encodings, dtype=np.float32).reshape(-1, ENCODING_SIZE)
        if matrix.shape[0] != len(self.names):
            raise ValueError(f"{len(self.names)} names for {matrix.shape[0]} encodings")
        matrix.setflags(write=False)
        object.__setattr__(self, "encodings", matrix)
        object.__setattr__(self, "_sq_norms", np.einsum("ij,ij->i", matrix, matrix))
        big = matrix.shape[0] >= INDEX_MIN_ROWS
        object.__setattr__(self, "_index", ProjectionIndex.build(matrix) if big else None)

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


@dataclass(frozen=True, eq=False)
class ProjectionIndex:
    """The gallery on its main principal axes, to rule out most rows before measuring any exactly.

    Projecting onto orthonormal axes never lengthens a vector, so |P(q - x)| <= |q - x|: a row whose projected
    distance is above the tolerance cannot match, and only the few below it are measured in full. The answer for
    a known face is exact; for an Unknown face the distance is that of the nearest row looked at (still above the
    tolerance), which saves reading the whole gallery for every stranger.
    """

    mean: np.ndarray  # (128,) the gallery's mean: distances do not change when both sides are shifted
    axes: np.ndarray  # (d, 128) orthonormal, largest variance first
    rows: np.ndarray  # (N, d) projected rows
    sq_norms: np.ndarray  # (N,) |projected row|²

    @classmethod
    def build(cls, matrix: np.ndarray, dims: int = INDEX_DIMS) -> ProjectionIndex:
        mean = matrix.mean(axis=0, dtype=np.float64)
        centred = matrix - mean.astype(np.float32)
        _, vectors = np.linalg.eigh((centred.T @ centred).astype(np.float64))
        axes = np.ascontiguousarray(vectors[:, ::-1][:, :dims].T, dtype=np.float32)
        rows = np.ascontiguousarray(centred @ axes.T)
        for array in (axes, rows):
            array.setflags(write=False)
        return cls(mean.astype(np.float32), axes, rows, np.einsum("ij,ij->i", rows, rows))

    def bounds(self, queries: np.ndarray) -> np.ndarray:
        """(M, N) lower bounds of the squared distance from each query to each row."""
        projected = (queries - self.mean) @ self.axes.T
        q_norms = np.einsum("ij,ij->i", projected, projected)[:, None]
        return self.sq_norms[None, :] - 2.0 * (projected @ self.rows.T) + q_norms


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
    q32 = queries.astype(np.float32)
    if known._index is None:
        best_rows = _nearest_rows(known, q32)
    else:
        bounds = known._index.bounds(q32)
        best_rows = [_nearest_candidate(known, q, b, tolerance) for q, b in zip(q32, bounds, strict=True)]
    results = []
    for query, row in zip(queries, best_rows, strict=True):
        # Exact distance for the winner only; the expansion above loses precision through cancellation.
        distance = float(np.linalg.norm(known.encodings[row].astype(np.float64) - query))
        name = known.names[row] if distance <= tolerance else UNKNOWN
        results.append(Match(name, distance, distance_to_confidence(distance, tolerance)))
    return results


def _nearest_rows(known: KnownFaces, q32: np.ndarray) -> np.ndarray:
    # |a-b|² = |a|² + |b|² - 2a·b: no N×128 temporary, so 100k rows stay in the millisecond range.
    q_norms = np.einsum("ij,ij->i", q32, q32)[:, None]
    squared = known._sq_norms[None, :] - 2.0 * (q32 @ known.encodings.T) + q_norms
    return np.argmin(squared, axis=1)


def _nearest_candidate(known: KnownFaces, query: np.ndarray, bounds: np.ndarray, tolerance: float) -> int:
    """Row nearest to the query among those the projection cannot rule out (see ProjectionIndex)."""
    candidates = np.flatnonzero(bounds <= tolerance * tolerance + BOUND_SLACK)
    if len(candidates) > INDEX_MAX_SHARE * len(known):
        return int(_nearest_rows(known, query[None, :])[0])
    if len(candidates) == 0:
        return int(np.argmin(bounds))  # nobody within tolerance: report the likeliest row's distance
    gaps = known.encodings[candidates] - query
    return int(candidates[np.argmin(np.einsum("ij,ij->i", gaps, gaps))])


def rows_within(known: KnownFaces, query: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows within `radius` of the query and their exact distances (one pass, through the index if there is one)."""
    q32 = np.asarray(query, dtype=np.float32).reshape(1, ENCODING_SIZE)
    if len(known) == 0:
        return np.empty(0, dtype=np.intp), np.empty(0)
    if known._index is not None:
        squared = known._index.bounds(q32)[0]  # lower bounds: every row within the radius passes
    else:
        squared = known._sq_norms - 2.0 * (known.encodings @ q32[0]) + float(q32[0] @ q32[0])
    # The expansion loses precision through cancellation: look a little wider, then measure exactly.
    rows = np.flatnonzero(squared <= (radius + WITHIN_SLACK) ** 2)
    query64 = np.asarray(query, dtype=np.float64).reshape(ENCODING_SIZE)
    exact = np.linalg.norm(known.encodings[rows].astype(np.float64) - query64, axis=1)
    keep = exact <= radius
    return rows[keep], exact[keep]


def runner_up(known: KnownFaces, query: np.ndarray, name: str, within: float) -> float | None:
    """Distance from the query to the nearest photo of anyone but `name`, if one lies within `within` (else None):
    whether a match stands clear of the next person (tracker.decisive)."""
    rows, distances = rows_within(known, query, within)
    others = [float(d) for row, d in zip(rows.tolist(), distances.tolist(), strict=True) if known.names[row] != name]
    return min(others) if others else None


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
