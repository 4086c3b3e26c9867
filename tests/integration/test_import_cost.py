"""What importing our modules costs, in a fresh interpreter (the test process has imported everything already):
the config and the web app pull in none of the heavy libraries, so `check-config` and gunicorn's workers start fast
and a web worker never holds a face model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def imports_none_of(setup: str, heavy: set[str]) -> None:
    code = f"import sys\n{setup}\nheavy = {sorted(heavy)!r}\nloaded = set(heavy) & set(sys.modules)\n" \
           "assert not loaded, loaded\n"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)


def test_importing_the_config_is_light() -> None:
    imports_none_of("import facedaemon.config", {"cv2", "numpy", "face_recognition", "dlib", "flask", "yaml", "ssl"})


def test_web_app_imports_no_heavy_modules() -> None:
    imports_none_of("from pathlib import Path\nfrom facedaemon.web.app import create_app\n"
                    "from facedaemon.web.context import WebContext\n"
                    "create_app(WebContext(runtime_dir=Path('.'), cameras=('a',)))",
                    {"cv2", "numpy", "face_recognition", "dlib"})
