"""One bench run in a process of its own (CPU and memory are that run's alone): the parent passes a JSON spec on
the command line, the child prints its figures as one JSON line, the last on stdout.

Used by `facedaemon bench` (bench/phase.py) and `facedaemon bench --range` (bench/range_run.py).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path


class ChildFailed(Exception):
    """A run that failed or overran; the message names it and ends with its stderr's tail."""


def child_env() -> dict[str, str]:
    """This environment with the checkout first on PYTHONPATH, so the child imports the same facedaemon."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_child(module: str, spec: dict, what: str, timeout: float) -> dict:
    """`python -m module '<spec>'`; its last stdout line parsed. `what` names the run in errors."""
    try:
        done = subprocess.run([sys.executable, "-m", module, json.dumps(spec)],
                              capture_output=True, text=True, env=child_env(), timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ChildFailed(f"the {what} run did not finish in {exc.timeout:.0f} s") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise ChildFailed(f"the {what} run failed (exit {done.returncode}):\n{tail}")
    return json.loads(lines[-1])


def child_main(argv: list[str], run: Callable[[dict], dict]) -> int:
    """The child's side: quiet logging to stderr, run(spec), one JSON line of figures on stdout."""
    warnings.filterwarnings("ignore", message=".*pkg_resources.*")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    print(json.dumps(run(json.loads(argv[0]))), flush=True)
    return 0
