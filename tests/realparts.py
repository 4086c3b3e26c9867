"""The real parts tests need (shared photos, Debian programs) and the one way to say one is missing.

Strict mode (CI=true, as CI sets it): a test that needs a real part (the shared photos, Chromium, GStreamer's RTSP
server, Prometheus, Mosquitto, openssl, node, nginx, ...) FAILS with the reason, so a green CI means the real parts ran.
A user's checkout keeps skipping, loudly: the reason is listed by `pytest -ra` and again in the summary.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

from devtools import shared_data

# FACEDAEMON_SHARED_DATA points the suite elsewhere (e.g. at a missing folder, to check strict mode fails).
SHARED_DATA = shared_data()
STRICT = os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}

MISSING_PREFIX = "REAL PART MISSING: "  # the summary at the end (tests/conftest.py) collects these lines


def missing(part: str, reason: str) -> NoReturn:
    """A real part this test needs is absent: fail in strict mode (CI=true), skip loudly otherwise."""
    message = f"{MISSING_PREFIX}{part}: {reason}"
    if STRICT:
        pytest.fail(f"{message} (strict mode: CI=true)", pytrace=False)
    pytest.skip(message)


def photos_problem() -> str | None:
    for needed in ("images/obama.jpg", "images/biden.jpg", "known_faces/KaiYuChen.jpg"):
        if not (SHARED_DATA / needed).is_file():
            return f"{SHARED_DATA / needed} not found (the photos live beside the repo, in ../shared/data)"
    return None


def require_photos() -> Path:
    problem = photos_problem()
    if problem is not None:
        missing("shared test photos", problem)
    return SHARED_DATA


def require_program(name: str, package: str, path: str | None = None) -> str:
    """The path of a Debian program the test drives for real (see tests/debian-packages.txt)."""
    found = shutil.which(name) or shutil.which(name, path=path or "/usr/sbin:/usr/local/sbin:/sbin")
    if found is None:
        missing(name, f"not installed (Debian package '{package}'; scripts/test-deps installs it as root)")
    return found
