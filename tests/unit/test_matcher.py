import numpy as np
import pytest

from facedaemon.faces.matcher import KnownFaces, Match, match, match_many, person_distances
from facedaemon.faces.types import UNKNOWN


def unit(*values: float) -> np.ndarray:
    vec = np.zeros(128)
    vec[: len(values)] = values
    return vec


GALLERY = KnownFaces.from_entries(
    [
        ("Alice", unit(1.0)),
        ("Alice", unit(0.0, 1.0)),
        ("Bob", unit(0.0, 0.0, 1.0)),
    ]
)


@pytest.mark.parametrize(
    ("query", "tolerance", "name", "distance"),
    [
        (unit(1.0), 0.6, "Alice", 0.0),
        (unit(0.0, 0.9), 0.6, "Alice", 0.1),  # second Alice photo is the closer one
        (unit(0.0, 0.0, 1.3), 0.6, "Bob", 0.3),
        (unit(0.0, 0.0, 0.0, 1.0), 0.6, UNKNOWN, 2**0.5),  # far from everyone
        (unit(0.0, 0.0, 1.5), 0.4, UNKNOWN, 0.5),  # Bob, but stricter tolerance
        (unit(0.0, 0.0, 1.5), 0.5, "Bob", 0.5),  # exactly at tolerance still matches
    ],
)
def test_match_table(query: np.ndarray, tolerance: float, name: str, distance: float) -> None:
    result = match(GALLERY, query, tolerance)
    assert result.name == name
    assert result.distance == pytest.approx(distance, abs=1e-6)
    assert 0.0 <= result.confidence <= 1.0


def test_empty_gallery_is_unknown_without_distance() -> None:
    assert match(KnownFaces(), unit(1.0), 0.6) == Match(UNKNOWN, None, 0.0)
    assert match_many(KnownFaces(), np.zeros((2, 128)), 0.6) == [Match(UNKNOWN, None, 0.0)] * 2
    assert KnownFaces().people == ()


def test_match_many_agrees_with_match() -> None:
    queries = np.stack([unit(1.0), unit(0.0, 0.0, 1.2), unit(0.0, 0.0, 0.0, 1.0)])
    assert match_many(GALLERY, queries, 0.6) == [match(GALLERY, q, 0.6) for q in queries]
    assert match_many(GALLERY, np.empty((0, 128)), 0.6) == []


def test_names_must_fit_rows() -> None:
    with pytest.raises(ValueError, match="names"):
        KnownFaces(("a",), np.zeros((2, 128)))


def test_people_and_person_distances() -> None:
    assert GALLERY.people == ("Alice", "Bob")
    distances = person_distances(GALLERY, unit(0.0, 0.9))
    assert distances["Alice"] == pytest.approx(0.1)
    assert distances["Bob"] == pytest.approx(np.hypot(0.9, 1.0))


def test_hundred_thousand_encodings_find_the_true_nearest() -> None:
    rng = np.random.default_rng(42)
    encodings = rng.normal(0.0, 0.09, size=(100_000, 128))
    names = tuple(f"person{i % 20_000}" for i in range(len(encodings)))
    known = KnownFaces(names, encodings)
    targets = [0, 31_337, 99_999]
    queries = encodings[targets] + rng.normal(0.0, 0.002, size=(3, 128))
    results = match_many(known, queries, 0.6)
    for target, query, result in zip(targets, queries, results, strict=True):
        brute = np.linalg.norm(encodings - query, axis=1)
        assert result.name == names[int(np.argmin(brute))] == names[target]
        assert result.distance == pytest.approx(float(brute.min()), abs=1e-5)
