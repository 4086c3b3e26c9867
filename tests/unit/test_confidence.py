import itertools

import pytest

from facedaemon.faces.confidence import distance_to_confidence


def seed_curve(d: float, t: float) -> float:
    if d > t:
        rng = 1.0 - t
        return (1.0 - d) / (rng * 2.0)
    rng = t
    lin = 1.0 - (d / (rng * 2.0))
    return lin + ((1.0 - lin) * ((lin - 0.5) * 2) ** 0.2)


@pytest.mark.parametrize(
    ("distance", "tolerance", "expected"),
    [
        (0.0, 0.6, 1.0),
        (0.6, 0.6, 0.5),
        (1.0, 0.6, 0.0),
        (0.8, 0.6, 0.25),
        (0.5, 0.5, 0.5),
        (1.5, 0.6, 0.0),  # seed goes negative here; we clamp
    ],
)
def test_known_points(distance: float, tolerance: float, expected: float) -> None:
    assert distance_to_confidence(distance, tolerance) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("tolerance", [0.4, 0.5, 0.6, 0.7])
@pytest.mark.parametrize("distance", [0.0, 0.1, 0.25, 0.39, 0.45, 0.55, 0.6, 0.65, 0.8, 0.99])
def test_matches_seed_curve_inside_range(distance: float, tolerance: float) -> None:
    expected = min(1.0, max(0.0, seed_curve(distance, tolerance)))
    assert distance_to_confidence(distance, tolerance) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("tolerance", [0.4, 0.6, 0.9])
def test_monotonic_and_bounded(tolerance: float) -> None:
    values = [distance_to_confidence(i / 100, tolerance) for i in range(0, 151)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert all(a >= b for a, b in itertools.pairwise(values))


@pytest.mark.parametrize(("distance", "is_match"), [(0.3, True), (0.59, True), (0.61, False), (0.9, False)])
def test_half_is_the_tolerance_boundary(distance: float, is_match: bool) -> None:
    assert (distance_to_confidence(distance, 0.6) >= 0.5) is is_match
