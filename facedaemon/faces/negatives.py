"""'Not this person': negative examples that stop a wrong match, and the rule that applies them.

A user who sees a face wrongly named P marks it "not P"; that face is stored as an image in
`<faces_dir>/.negatives/<P>/` (hidden, so the gallery never takes the folder for a person; images, not vectors,
so users can look at them and they are re-encoded when the model changes, through the gallery's cache).

Rule, applied after the normal nearest-face match: for the best person P within tolerance, if the face is closer
to one of P's negatives than to P's nearest photo, P is rejected and the next nearest person within tolerance is
tried the same way; when nobody is left the face is Unknown. Faces nearer to P's photos than to any negative are
still P, so a negative only removes the look-alike region around itself.

Pure: arrays in, matches out (the loading is in gallery.py, the I/O-free tests in tests/unit/test_negatives.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from facedaemon.faces.confidence import distance_to_confidence
from facedaemon.faces.matcher import ENCODING_SIZE, KnownFaces, Match, rows_within
from facedaemon.faces.types import UNKNOWN


@dataclass(frozen=True, eq=False)
class Negatives:
    """Each person's negative examples: person → M×128 float64 encodings."""

    by_person: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, np.ndarray]]) -> Negatives:
        rows: dict[str, list[np.ndarray]] = {}
        for person, encoding in entries:
            rows.setdefault(person, []).append(np.asarray(encoding, dtype=np.float64).reshape(ENCODING_SIZE))
        return cls({person: np.stack(found) for person, found in rows.items()})

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.by_person.values())

    @property
    def people(self) -> tuple[str, ...]:
        return tuple(sorted(self.by_person))

    def nearest(self, person: str, query: np.ndarray) -> float:
        """Distance from the query to the person's closest negative; infinity when they have none."""
        rows = self.by_person.get(person)
        if rows is None or len(rows) == 0:
            return float("inf")
        return float(np.min(np.linalg.norm(rows - query, axis=1)))


def rejects(negatives: Negatives, person: str, query: np.ndarray, positive_distance: float) -> bool:
    """The face is closer to one of the person's negatives than to their nearest photo."""
    return negatives.nearest(person, query) < positive_distance


def apply_negatives(
    known: KnownFaces, negatives: Negatives, queries: np.ndarray, matches: list[Match], tolerance: float
) -> list[Match]:
    """The matches with every rejected name re-decided (see the module docstring); the rest untouched."""
    if len(negatives) == 0:
        return matches
    rows = np.asarray(queries, dtype=np.float64).reshape(-1, ENCODING_SIZE)
    return [refine(known, negatives, query, found, tolerance) for query, found in zip(rows, matches, strict=True)]


def refine(known: KnownFaces, negatives: Negatives, query: np.ndarray, found: Match, tolerance: float) -> Match:
    """One match re-decided; cheap unless the named person has a negative nearer than their photo."""
    if found.name == UNKNOWN or found.distance is None or found.name not in negatives.by_person:
        return found
    if not rejects(negatives, found.name, query, found.distance):
        return found
    # Rare: only faces in a look-alike region get here, so a pass over the gallery is affordable.
    for person, distance in sorted(person_distances_within(known, query, tolerance).items(), key=lambda p: p[1]):
        if person != found.name and not rejects(negatives, person, query, distance):
            return Match(person, distance, distance_to_confidence(distance, tolerance))
    # The user said it is not them: as sure an Unknown as a face far from everyone (vote weight 1).
    return Match(UNKNOWN, found.distance, 0.0)


def person_distances_within(known: KnownFaces, query: np.ndarray, within: float) -> dict[str, float]:
    """Each person's nearest photo distance, for the people with a photo within `within` of the query."""
    rows, exact = rows_within(known, query, within)
    best: dict[str, float] = {}
    for row, distance in zip(rows.tolist(), exact.tolist(), strict=True):
        name = known.names[row]
        best[name] = min(distance, best.get(name, distance))
    return best
