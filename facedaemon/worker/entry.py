"""The recognition child's entry point, which the parent (client.py) hands to multiprocessing by name.

Its own module so that protocol.py imports neither side, and so that the daemon never loads the child's modules
(models, matcher, tracker, crop stores): they are imported here, in the spawned process only.
"""

from __future__ import annotations

from typing import Any

from facedaemon.worker.protocol import ChildSettings


def run_child(settings: ChildSettings, requests: Any, results: Any, log_queue: Any) -> None:
    """Entry point of the spawned process, pickled by name."""
    from facedaemon.worker.child import child_main  # in the child only: see the module's docstring

    child_main(settings, requests, results, log_queue)
