"""The runners' leftover check (devtools/processes.SeenPids): a pid is a leftover only while it is the same process."""

from __future__ import annotations

import subprocess
import sys

from devtools.processes import SeenPids, start_time


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_process_seen_and_still_there_is_still_running_and_an_ended_one_is_not():
    first, second = _sleeper(), _sleeper()
    try:
        seen = SeenPids()
        seen |= {first.pid, second.pid}
        assert seen.still_running(first.pid) and seen.still_running(second.pid)
        first.kill()
        first.wait()
        assert not seen.still_running(first.pid)
        assert seen.still_running(second.pid)
    finally:
        for process in (first, second):
            process.kill()
            process.wait()


def test_a_pid_given_to_another_process_since_it_was_seen_is_no_leftover():
    # The kernel cannot be made to reuse a pid on demand: the seen process's start time is set back instead, which
    # is what a later process with the same pid looks like (an hour's chaos soak killed another run's processes so).
    other = _sleeper()
    try:
        seen = SeenPids({other.pid})
        born = start_time(other.pid)
        assert born is not None and seen.still_running(other.pid)
        seen.born[other.pid] = born - 1
        assert not seen.still_running(other.pid)
        seen |= {other.pid}  # seen below the daemon again: it is the daemon's now
        assert seen.still_running(other.pid)
    finally:
        other.kill()
        other.wait()


def test_a_pid_never_seen_is_not_running_for_the_check():
    assert not SeenPids().still_running(1)
