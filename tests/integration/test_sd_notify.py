"""sd_notify into a real datagram socket, as systemd listens for it (outside systemd it is a no-op:
tests/unit/test_daemon_parts.py)."""

from __future__ import annotations

import socket

from facedaemon.daemon import systemd


def test_sd_notify_reaches_a_real_datagram_socket(tmp_path):
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(2)
        assert systemd.notify("READY=1", {"NOTIFY_SOCKET": address}) is True
        assert server.recv(1024) == b"READY=1"
