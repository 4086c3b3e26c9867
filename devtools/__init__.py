"""Developer tools shared by the tests, scripts/ and the benchmarks: the real daemon run as a subprocess
(devtools.daemon), the web server alone, headless Chromium, the nginx front, the soak, a webhook receiver.

Not shipped: pyproject's package discovery takes `facedaemon*` only. It is importable from a checkout: pytest puts
the repository root on sys.path (`pythonpath = ["."]`), and each script puts it there itself. Tests, scripts and
benchmarks import devtools, never each other.
"""

from __future__ import annotations

from pathlib import Path

from facedaemon.bench import photos

REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """The shared test photos: $FACEDAEMON_SHARED_DATA, else ../shared/data beside this checkout (the rule is
    facedaemon/bench/photos.py's, the one definition). The folder may be missing; tests/realparts.py says so."""
    found = photos.shared_data(REPO)
    assert found is not None  # given a checkout, there is always a default
    return found
