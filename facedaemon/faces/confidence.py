"""Map a face distance to a 0..1 confidence (the seed prototype's curve)."""

from __future__ import annotations


def distance_to_confidence(distance: float, tolerance: float) -> float:
    """Steep near the tolerance, flat near 0: a match at the tolerance reads 50%, a close one 90%+."""
    if distance > tolerance:
        span = 1.0 - tolerance
        linear = (1.0 - distance) / (span * 2.0) if span > 0 else 0.0
        return _clamp(linear)
    linear = 1.0 - (distance / (tolerance * 2.0))
    # linear >= 0.5 here; max() only guards rounding so the fractional power never sees a negative base.
    return _clamp(linear + (1.0 - linear) * max(0.0, (linear - 0.5) * 2) ** 0.2)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, float(value)))
