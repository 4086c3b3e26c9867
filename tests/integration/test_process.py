import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from facedaemon.children.process import ManagedProcess
from tests.polling import wait


def gone(pid: int) -> bool:
    """True once pid has exited (a zombie waiting for a reaper that is not us counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_stop_kills_the_whole_group_including_grandchildren() -> None:
    proc = ManagedProcess(["sh", "-c", "sleep 100 & echo child=$! >&2; sleep 100"], name="tree")
    assert wait(lambda: "child=" in proc.stderr_tail(), 5.0)
    grandchild = int(proc.stderr_tail().split("child=")[1].split()[0])
    assert os.getpgid(grandchild) == proc.pid  # its own group, led by the child
    assert proc.alive()

    code = proc.stop(timeout=2.0)

    assert code in (-signal.SIGTERM, 128 + signal.SIGTERM)
    assert not proc.alive()
    assert wait(lambda: gone(grandchild), 3.0)


def test_group_members_die_even_when_the_leader_already_exited() -> None:
    proc = ManagedProcess(["sh", "-c", "sleep 100 & echo child=$! >&2; exit 0"])
    assert wait(lambda: "child=" in proc.stderr_tail(), 5.0)
    grandchild = int(proc.stderr_tail().split("child=")[1].split()[0])
    assert wait(lambda: not proc.alive(), 5.0)
    assert not gone(grandchild)

    assert proc.stop(timeout=1.0) == 0
    assert wait(lambda: gone(grandchild), 3.0)


def test_sigterm_ignored_is_killed_after_timeout() -> None:
    proc = ManagedProcess(["sh", "-c", "trap '' TERM; echo ready >&2; sleep 100"])
    assert wait(lambda: "ready" in proc.stderr_tail(), 5.0)
    started = time.monotonic()
    code = proc.stop(timeout=0.5)
    assert code == -signal.SIGKILL
    assert time.monotonic() - started < 3.0


def test_stop_is_idempotent_and_safe_on_a_dead_process() -> None:
    proc = ManagedProcess(["sh", "-c", "exit 3"])
    assert proc.wait(5.0) == 3
    assert proc.returncode == 3
    assert proc.stop() == 3
    assert proc.stop() == 3
    assert proc.signal(signal.SIGTERM) is False  # never signals a group id that may have been reused
    assert proc.kill() == 3


def test_stderr_tail_masks_credentials_and_is_bounded() -> None:
    script = "echo 'open rtsp://admin:hunter2@cam.local/1 failed' >&2; i=0; " \
             "while [ $i -lt 120 ]; do echo line$i >&2; i=$((i+1)); done; exit 1"
    proc = ManagedProcess(["sh", "-c", script], tail_lines=50)
    assert proc.wait(5.0) == 1
    proc.stop()
    tail = proc.stderr_tail()
    lines = tail.splitlines()
    assert len(lines) == 50
    assert lines[-1] == "line119"
    assert proc.stderr_tail(2) == "line118\nline119"
    assert "hunter2" not in tail

    proc = ManagedProcess(["sh", "-c", "echo 'open rtsp://admin:hunter2@cam.local/1 failed' >&2"])
    proc.wait(5.0)
    proc.stop()
    assert proc.stderr_tail() == "open rtsp://***@cam.local/1 failed"


def test_piped_stdout_joins_the_tail_and_callback() -> None:
    seen: list[str] = []
    proc = ManagedProcess(["sh", "-c", "echo out; echo err >&2; echo user:pw http://u:p@h/"],
                          stdout=subprocess.PIPE, on_line=seen.append)
    proc.wait(5.0)
    proc.stop()
    assert proc.stderr_tail().splitlines() == ["out", "err", "user:pw http://***@h/"]
    assert seen == ["out", "err", "user:pw http://***@h/"]


def test_failing_callback_does_not_stop_draining() -> None:
    def explode(line: str) -> None:
        raise RuntimeError(line)

    proc = ManagedProcess(["sh", "-c", "echo a >&2; echo b >&2"], on_line=explode)
    proc.wait(5.0)
    proc.stop()
    assert proc.stderr_tail() == "a\nb"


def test_env_cwd_and_stdin(tmp_path: Path) -> None:
    proc = ManagedProcess(["sh", "-c", "echo \"$GREETING $(pwd)\" >&2; cat >&2"], env={"GREETING": "hi",
                          "PATH": os.environ["PATH"]}, cwd=tmp_path, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(b"from-stdin\n")
    proc.close_stdin()
    assert proc.wait(5.0) == 0
    proc.stop()
    assert proc.stderr_tail() == f"hi {tmp_path}\nfrom-stdin"


def test_signal_reaches_the_group() -> None:
    proc = ManagedProcess(["sh", "-c", "trap 'echo got-usr1 >&2; exit 0' USR1; echo ready >&2; "
                                       "while :; do sleep 0.05; done"])
    assert wait(lambda: "ready" in proc.stderr_tail(), 5.0)
    assert proc.signal(signal.SIGUSR1) is True
    assert proc.wait(5.0) == 0
    proc.stop()
    assert "got-usr1" in proc.stderr_tail()


def test_missing_executable_raises_oserror() -> None:
    with pytest.raises(OSError):
        ManagedProcess(["/nonexistent/binary"])
