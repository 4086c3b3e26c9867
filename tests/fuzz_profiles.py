"""Hypothesis profiles for the fuzz tests (tests/fuzz/), chosen with HYPOTHESIS_PROFILE; loaded by tests/conftest.py.

ci (the default, also under CI=true and plain scripts/test): 1,000 examples per fuzz target, time bounded by the
example count (docs/performance.md has what it costs). long: 100,000 per target, for a run by hand:
    HYPOTHESIS_PROFILE=long FACEDAEMON_TEST_WORKERS=0 scripts/test tests/fuzz
FACEDAEMON_FUZZ_EXAMPLES=N sets another count for either (a run that must fit in the time there is).
No example database in either: the tests must not leave a .hypothesis folder in the repository, and a failure is
kept as an @example in the test instead. No deadline: the machine is shared, and a slow example is not a bug.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 1_000
LONG_EXAMPLES = 100_000
_COMMON = {"deadline": None, "database": None, "derandomize": False, "print_blob": True,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}

settings.register_profile("ci", max_examples=CI_EXAMPLES, **_COMMON)
settings.register_profile("long", max_examples=LONG_EXAMPLES, **_COMMON)


def load() -> str:
    """Load the profile HYPOTHESIS_PROFILE names (default ci), with FACEDAEMON_FUZZ_EXAMPLES if set; its name."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    settings.load_profile(name)
    examples = os.environ.get("FACEDAEMON_FUZZ_EXAMPLES")
    if examples:
        settings.register_profile(f"{name}-{examples}", settings.get_profile(name), max_examples=int(examples))
        settings.load_profile(f"{name}-{examples}")
    return name
