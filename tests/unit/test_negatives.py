"""The "not this person" rule on plain vectors (ties, fall-backs, the per-person distance search) and the names a
negative example's file may have. The same rule on real encodings of two look-alikes:
tests/integration/test_look_alikes.py."""

from __future__ import annotations

import numpy as np
import pytest

from facedaemon.faces.matcher import KnownFaces, match, match_many
from facedaemon.faces.negatives import Negatives, apply_negatives, person_distances_within, refine, rejects
from facedaemon.gallery.layout import NEGATIVE_FILE

TOLERANCE = 0.6


def test_no_negatives_is_the_plain_match() -> None:
    known = KnownFaces.from_entries([("A", np.zeros(128))])
    matches = match_many(known, np.zeros((2, 128)), TOLERANCE)
    assert apply_negatives(known, Negatives(), np.zeros((2, 128)), matches, TOLERANCE) is matches


def test_rule_edges_with_plain_vectors() -> None:
    a, b = np.zeros(128), np.zeros(128)
    b[0] = 0.4
    negatives = Negatives.from_entries([("P", b)])
    query = np.zeros(128)
    query[0] = 0.2  # exactly between the photo (a) and the negative (b)
    assert not rejects(negatives, "P", query, 0.2), "a tie keeps the name: only a nearer negative rejects"
    assert rejects(negatives, "P", query, 0.2 + 1e-6)
    assert negatives.nearest("Q", query) == float("inf")
    assert len(negatives) == 1 and negatives.people == ("P",)
    unknown = match(KnownFaces.from_entries([("P", a)]), np.full(128, 0.5), TOLERANCE)
    assert refine(KnownFaces.from_entries([("P", a)]), negatives, np.full(128, 0.5), unknown, TOLERANCE) is unknown


def test_person_distances_within_agrees_with_brute_force() -> None:
    rng = np.random.default_rng(7)
    rows = rng.normal(0, 0.08, (500, 128))
    names = [f"p{i % 40}" for i in range(500)]
    known = KnownFaces(tuple(names), rows)
    query = rows[3] + rng.normal(0, 0.02, 128)
    exact = np.linalg.norm(known.encodings.astype(np.float64) - query, axis=1)
    for within in (0.3, 0.9, 1.2):
        expected: dict[str, float] = {}
        for name, distance in zip(names, exact.tolist(), strict=True):
            if distance <= within:
                expected[name] = min(distance, expected.get(name, distance))
        found = person_distances_within(known, query, within)
        assert found.keys() == expected.keys()
        assert all(found[n] == pytest.approx(expected[n], abs=1e-9) for n in found)
    assert person_distances_within(KnownFaces(), query, 1.0) == {}


@pytest.mark.parametrize("name", ["not-3f9c0a1b2c4d.jpg", "a.png", "A_b-9.webp"])
def test_negative_file_names_accepted(name: str) -> None:
    assert NEGATIVE_FILE.match(name)


@pytest.mark.parametrize("name", ["../x.jpg", ".hidden.jpg", "a/b.jpg", "a.jpg.txt", "a..jpg", "x.JPG.", "a b.jpg",
                                  "a.gif", "", "x" * 90 + ".jpg", "a.jpg\n"])
def test_negative_file_names_refused(name: str) -> None:
    assert not NEGATIVE_FILE.match(name)
