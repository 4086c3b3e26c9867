"""The two ffmpegs the daemon may run, and which one the suite uses.

find_ffmpeg prefers Debian's /usr/bin/ffmpeg when installed and falls back to the one imageio-ffmpeg bundles (a pip
dependency, so always there). The tests that matter (encoder arguments and HLS output:
tests/integration/test_encoder.py; HLS + the tee to RTSP, and the daemon's own choice: tests/e2e/test_rtsp.py) run
against BOTH. Every other test uses the bundled one explicitly (SUITE), so its results do not change with whether
the Debian package happens to be installed. Debian's ffmpeg is in tests/debian-packages.txt: missing, its tests
fail in strict mode (CI=true) and skip loudly otherwise.
"""

from __future__ import annotations

import os

from devtools.daemon import bundled_ffmpeg as bundled
from tests.realparts import missing

DEBIAN = "/usr/bin/ffmpeg"
BOTH = ("bundled", "debian")


def debian() -> str:
    if not os.access(DEBIAN, os.X_OK):
        missing("Debian ffmpeg", f"{DEBIAN} not installed (Debian package 'ffmpeg'; scripts/test-deps installs it)")
    return DEBIAN


def binary(which: str) -> str:
    return {"bundled": bundled, "debian": debian}[which]()


SUITE = bundled  # the ffmpeg of every test not parametrised on BOTH
