"""The projection index must give the same answer as reading the whole gallery for every face that matches."""

import numpy as np
import pytest

from facedaemon.faces import matcher
from facedaemon.faces.matcher import KnownFaces, match_many
from facedaemon.faces.types import UNKNOWN

ROWS = matcher.INDEX_MIN_ROWS + 1_000


def face_like_gallery(rng: np.random.Generator) -> tuple[tuple[str, ...], np.ndarray]:
    """Encodings with structure (a few strong directions, as real ones have), several photos per person."""
    people = ROWS // 4
    basis = rng.normal(0.0, 1.0, (24, 128))
    centres = rng.normal(0.0, 0.06, (people, 24)) @ basis / np.sqrt(24)
    rows = np.repeat(centres, 4, axis=0) + rng.normal(0.0, 0.02, (people * 4, 128))
    names = tuple(f"person{i // 4}" for i in range(people * 4))
    return names, rows[:ROWS]


def brute_force(encodings: np.ndarray, query: np.ndarray) -> tuple[int, float]:
    distances = np.linalg.norm(encodings.astype(np.float64) - query, axis=1)
    row = int(np.argmin(distances))
    return row, float(distances[row])


@pytest.fixture(scope="module")
def gallery() -> tuple[KnownFaces, np.random.Generator]:
    rng = np.random.default_rng(11)
    names, rows = face_like_gallery(rng)
    known = KnownFaces(names, rows)
    assert known._index is not None, "a gallery this large is indexed"
    return known, rng


def test_known_faces_get_exactly_the_brute_force_answer(gallery) -> None:
    known, rng = gallery
    picks = rng.choice(len(known), 40, replace=False)
    queries = known.encodings[picks].astype(np.float64) + rng.normal(0.0, 0.015, (40, 128))
    candidates = (known._index.bounds(queries.astype(np.float32)) <= 0.36).sum(axis=1)
    assert candidates.max() <= matcher.INDEX_MAX_SHARE * len(known), "the bound must prune, not fall back"
    for query, result in zip(queries, match_many(known, queries, 0.6), strict=True):
        row, distance = brute_force(known.encodings, query)
        assert result.distance == pytest.approx(distance, abs=1e-6)
        assert result.name == known.names[row]


def test_strangers_are_unknown_with_a_distance_above_tolerance(gallery) -> None:
    known, rng = gallery
    strangers = rng.normal(0.0, 0.2, (10, 128))
    for query, result in zip(strangers, match_many(known, strangers, 0.6), strict=True):
        assert result.name == UNKNOWN
        assert result.distance >= brute_force(known.encodings, query)[1] - 1e-6
        assert result.distance > 0.6


def test_loose_tolerance_falls_back_to_the_full_product(gallery) -> None:
    known, rng = gallery
    query = known.encodings[5].astype(np.float64) + rng.normal(0.0, 0.01, 128)
    [result] = match_many(known, query[None, :], 5.0)  # everything is a candidate: the bound prunes nothing
    row, distance = brute_force(known.encodings, query)
    assert (result.name, result.distance) == (known.names[row], pytest.approx(distance, abs=1e-6))


def test_the_bound_never_exceeds_the_true_distance(gallery) -> None:
    known, rng = gallery
    query = rng.normal(0.0, 0.1, (1, 128)).astype(np.float32)
    bounds = known._index.bounds(query)[0]
    true = np.einsum("ij,ij->i", known.encodings - query, known.encodings - query)
    assert np.all(bounds <= true + matcher.BOUND_SLACK)


def test_small_galleries_are_not_indexed() -> None:
    assert KnownFaces(("a",), np.zeros((1, 128)))._index is None


def test_rows_within_through_the_index_finds_every_row_in_range(gallery) -> None:
    from facedaemon.faces.matcher import rows_within

    known, rng = gallery
    query = known.encodings[100].astype(np.float64) + rng.normal(0.0, 0.015, 128)
    rows, distances = rows_within(known, query, 0.6)
    exact = np.linalg.norm(known.encodings.astype(np.float64) - query, axis=1)
    assert sorted(rows.tolist()) == np.flatnonzero(exact <= 0.6).tolist()
    assert np.allclose(distances, exact[rows])
