"""Where the shared test photos are: the one definition, used by `facedaemon bench`, and re-exported by
devtools.shared_data for the tests, the scripts and the soak.

FACEDAEMON_SHARED_DATA names the folder. Without it, the photos are `../shared/data` beside the checkout. An
installed package is no checkout, so it has no default: `facedaemon bench` then asks for --data or the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "FACEDAEMON_SHARED_DATA"


def own_checkout() -> Path | None:
    """The checkout this package runs from (an editable install or the source tree), None when installed."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "facedaemon").is_dir() else None


def shared_data(checkout: Path | None = None) -> Path | None:
    """The photos folder: $FACEDAEMON_SHARED_DATA, else ../shared/data beside `checkout` (default: this package's
    own checkout); None when neither is known. The folder may be missing: callers say what they need from it."""
    named = os.environ.get(ENV)
    if named:
        return Path(named).resolve()
    root = checkout or own_checkout()
    return (root / ".." / "shared" / "data").resolve() if root is not None else None
