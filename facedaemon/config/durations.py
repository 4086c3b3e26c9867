"""Durations in the config: '30s', '90m', '24h', '7d', '2w', or a plain number of seconds."""

from __future__ import annotations

import math
import re

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
HELP = "must be a duration such as 30m, 24h or 7d (s, m, h, d, w; a number alone is seconds)"


def parse_duration(value: object) -> float:
    """Seconds; raises ValueError with a message a person can act on."""
    if isinstance(value, bool):  # YAML 'yes'/'no' would otherwise read as 1 and 0 seconds
        raise ValueError(HELP)
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (found := DURATION.match(value)):
        seconds = float(found.group(1)) * UNIT_SECONDS[found.group(2).lower()]
    else:
        raise ValueError(HELP)
    if not math.isfinite(seconds):
        raise ValueError(HELP)
    return seconds


def format_duration(seconds: float) -> str:
    """In the largest unit that divides it (86400 → '1d', 5400 → '90m'); for log lines and the page."""
    for unit in ("w", "d", "h", "m"):
        size = UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
