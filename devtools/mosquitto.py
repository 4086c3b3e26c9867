"""A real Mosquitto on loopback, started and stopped by pid: the e2e tests' broker (tests/e2e/broker.py) and the chaos
soak's, which restarts it."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Mosquitto:
    """`binary -c folder/mosquitto.conf` with `conf` (listeners) and, with `persistence` (a folder), its retained
    messages and sessions saved there at a stop (SIGTERM), as a system Mosquitto does; log in folder/mosquitto.log."""

    def __init__(self, binary: str, folder: Path, conf: str, ports: tuple[int, ...],
                 persistence: Path | None = None) -> None:
        self.binary, self.folder, self.ports = binary, folder, ports
        self.conf_path, self.log_path = folder / "mosquitto.conf", folder / "mosquitto.log"
        # Started as root, mosquitto drops to its own user before reading the TLS files, which sit in the test's
        # private tmp folder: this throwaway broker keeps the user it was started as.
        user = "user root\n" if os.geteuid() == 0 else ""
        keep = f"persistence true\npersistence_location {persistence}/\n" if persistence else "persistence false\n"
        self.conf_path.write_text(conf + user + "allow_anonymous true\n" + keep)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> None:
        assert self.process is None
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([self.binary, "-c", str(self.conf_path)], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not all(listening(port) for port in self.ports):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"mosquitto did not listen within {timeout:.0f} s:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM (it saves its persistence), SIGKILL after 5 s; always reaped."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
