"""sd_notify: tell systemd we are ready and alive. A no-op outside systemd (no NOTIFY_SOCKET)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import MutableMapping

log = logging.getLogger(__name__)


NOTIFY_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def take_environment(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Remove systemd's notify variables from the environment and return them, for notify() and watchdog_interval().

    Children must not inherit them: gunicorn speaks sd_notify too and would report READY=1 for the whole service
    before any camera streams (systemd ignores it under NotifyAccess=main, but not under NotifyAccess=all).
    """
    env = os.environ if environ is None else environ
    return {name: env.pop(name) for name in NOTIFY_VARIABLES if name in env}


def notify(message: str, environ: dict[str, str] | None = None) -> bool:
    """Send one notify datagram ("READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=…"); True if sent."""
    address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
        return True
    except OSError as exc:
        log.warning("systemd notify failed: %s", exc)
        return False


def watchdog_interval(environ: dict[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec), or None when systemd does not watch us."""
    env = environ if environ is not None else os.environ
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6
