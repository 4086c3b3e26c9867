"""A real systemd as PID 1 of its own namespaces, walled off from the shared machine (see systemd_boot.sh).

Only for tests, run as root. What protects the host: private tmpfs on /tmp, /var, /run and /dev before systemd
starts (its tmpfiles once emptied the machine's /tmp), the rest of the file system read-only inside, its own
network/uts/ipc/pid namespaces, its own sub-cgroup, and every boot unit except journald masked (no tmpfiles, sysctl,
udev, clock, fsck, remount, users). Torn down by killing its PID 1 (which ends every process of the namespace).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
BOOT_SCRIPT = HERE / "systemd_boot.sh"
SYSTEMD = "/lib/systemd/systemd"
UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
GENERATOR_DIRS = ("/lib/systemd/system-generators", "/usr/lib/systemd/system-generators")
# Pulled in at boot by sysinit.target and the targets it orders after; everything they want is masked but these.
BOOT_TARGETS = ("sysinit", "basic", "sockets", "timers", "paths", "local-fs", "local-fs-pre", "swap", "slices",
                "cryptsetup", "integritysetup", "veritysetup", "network", "network-online", "network-pre",
                "remote-fs", "multi-user", "getty")
KEEP = {"systemd-journald.service", "systemd-journald.socket", "systemd-journald-dev-log.socket"}
# Masked whether or not a target wants them: each would write to the host (files, clock, kernel, devices).
ALWAYS_MASK = (
    "systemd-tmpfiles-setup.service", "systemd-tmpfiles-setup-dev.service", "systemd-tmpfiles-clean.service",
    "systemd-tmpfiles-clean.timer", "systemd-remount-fs.service", "systemd-sysusers.service",
    "systemd-firstboot.service", "systemd-udevd.service", "systemd-udev-trigger.service",
    "systemd-udev-settle.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
    "systemd-sysctl.service", "systemd-timesyncd.service", "systemd-repart.service", "systemd-fsck-root.service",
    "systemd-update-done.service", "systemd-hwdb-update.service", "ldconfig.service",
    "systemd-journal-catalog-update.service", "systemd-machine-id-commit.service", "systemd-random-seed.service",
    "systemd-update-utmp.service", "systemd-journal-flush.service", "systemd-modules-load.service",
    "systemd-binfmt.service", "systemd-pstore.service", "systemd-journald-audit.socket", "dbus.socket",
    "dbus.service", "getty@tty1.service", "console-getty.service", "systemd-logind.service",
)
PR_SET_PDEATHSIG = 1
CGROUP_ROOTS = {"name=systemd": "/sys/fs/cgroup/systemd", "": "/sys/fs/cgroup/unified"}


def problem() -> str | None:
    """Why a namespaced systemd cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (unshare of pid/mount/cgroup namespaces)"
    for path in (SYSTEMD, "/usr/bin/unshare", "/usr/bin/nsenter", "/usr/bin/systemctl"):
        if not os.access(path, os.X_OK):
            return f"{path} not found"
    for root in CGROUP_ROOTS.values():
        if not os.path.isdir(root):
            return f"{root} not mounted (needs the name=systemd and unified cgroup hierarchies)"
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount", "--cgroup", "--net", "--uts", "--ipc",
                            "--mount-proc", "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"unshare refused: {probe.stderr.strip()}"
    return None


def masks() -> list[str]:
    names = set(ALWAYS_MASK)
    for folder in UNIT_DIRS:
        for target in BOOT_TARGETS:
            for kind in ("wants", "requires"):
                wanted = Path(folder) / f"{target}.target.{kind}"
                if wanted.is_dir():
                    names.update(entry.name for entry in wanted.iterdir())
    for folder in GENERATOR_DIRS:
        if os.path.isdir(folder):
            names.update(os.listdir(folder))
    return sorted(names - KEEP)


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path in each hierarchy systemd uses (from /proc/self/cgroup)."""
    found = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers in CGROUP_ROOTS:
            found[controllers] = path
    return found


class SystemdNamespace:
    """`with SystemdNamespace() as ns:` boots systemd to `running`; ns.systemctl(...) / ns.run(...) act inside."""

    def __init__(self, boot_timeout: float = 30.0) -> None:
        self.boot_timeout = boot_timeout
        self.name = f"facedaemon-test-{uuid.uuid4().hex[:8]}"
        self.cgroups: list[Path] = []
        self.process: subprocess.Popen | None = None
        self.pid = 0  # the namespace's PID 1 (systemd) as the host sees it
        self._work = Path(tempfile.mkdtemp(prefix="fdsystemd-"))
        self.console = self._work / "boot.log"

    def __enter__(self) -> SystemdNamespace:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        _sweep_stale_cgroups()
        mask_file = self._work / "masks"
        mask_file.write_text("\n".join(masks()) + "\n")
        for controllers, path in _own_cgroups().items():
            folder = Path(CGROUP_ROOTS[controllers] + path) / self.name
            folder.mkdir()
            self.cgroups.append(folder)
        procs = [str(folder / "cgroup.procs") for folder in self.cgroups]

        def enter_cgroups() -> None:  # in the child, before unshare: its cgroup becomes the namespace's root
            for file in procs:
                with open(file, "w") as handle:
                    handle.write(str(os.getpid()))
            # If pytest dies, unshare gets SIGKILL, and --kill-child takes the namespace's PID 1 (and all) with it.
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

        with open(self.console, "wb") as log:
            self.process = subprocess.Popen(
                ["unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount", "--cgroup", "--net", "--uts",
                 "--ipc", "--mount-proc", "--propagation", "private", "sh", str(BOOT_SCRIPT), str(mask_file)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, preexec_fn=enter_cgroups,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "container": "facedaemon-test", "LANG": "C.UTF-8"})
        self.pid = self._namespace_init()
        self._wait_running()

    def _namespace_init(self) -> int:
        """The host pid of unshare's child (PID 1 inside)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            try:
                pids = children.read_text().split()
            except FileNotFoundError:
                pids = []
            if pids:
                return int(pids[0])
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"the namespace did not start: {self.boot_log()}")

    def _wait_running(self) -> None:
        deadline = time.monotonic() + self.boot_timeout
        state = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"systemd exited ({self.process.returncode}): {self.boot_log()}")
            result = self.systemctl("is-system-running", check=False)
            state = result.stdout.strip()
            if state in {"running", "degraded"}:
                if state == "degraded":
                    failed = self.systemctl("--failed", "--no-legend", check=False).stdout
                    raise RuntimeError(f"systemd booted degraded: {failed}")
                return
            time.sleep(0.2)
        raise RuntimeError(f"systemd not running after {self.boot_timeout:.0f} s (state {state!r}): "
                           f"{self.boot_log()}")

    def boot_log(self) -> str:
        return self.console.read_text(errors="replace")[-3000:] if self.console.exists() else ""

    def run(self, *command: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        """A command inside every namespace of the booted systemd (as root)."""
        enter = ["nsenter", f"--target={self.pid}", "--mount", "--pid", "--net", "--uts", "--ipc", "--cgroup", "--"]
        result = subprocess.run(enter + list(command), capture_output=True, text=True, timeout=timeout,
                                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)}: exit {result.returncode}\n{result.stdout}{result.stderr}")
        return result

    def systemctl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return self.run("systemctl", *args, check=check, timeout=timeout)

    def journal(self, unit: str) -> str:
        return self.run("journalctl", "--no-pager", "-o", "cat", "-u", unit, check=False).stdout

    def stop(self) -> None:
        """Kill PID 1 of the namespace (every process in it dies with it), then remove our cgroups."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if self.process is not None:
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for folder in self.cgroups:
            _remove_cgroup(folder)
        for file in self._work.iterdir():
            file.unlink()
        self._work.rmdir()


def _rmdir_tree(folder: Path) -> None:
    """rmdir a cgroup tree deepest first; a cgroup that still has processes stays (EBUSY)."""
    for dirpath, _dirnames, _ in sorted(os.walk(folder), key=lambda entry: -entry[0].count("/")):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


def _remove_cgroup(folder: Path) -> None:
    """Our cgroup tree, retried while the killed processes exit."""
    deadline = time.monotonic() + 10
    while folder.exists() and time.monotonic() < deadline:
        _rmdir_tree(folder)
        if folder.exists():
            time.sleep(0.1)


def _sweep_stale_cgroups() -> None:
    """Empty cgroups of an earlier run killed before its teardown: over 10 minutes old (a run starting right now
    has an empty one for a moment) and empty (a running one's stay: EBUSY)."""
    for root in CGROUP_ROOTS.values():
        for stale in Path(root).rglob("facedaemon-test-*"):
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_ctime > 600:
                    _rmdir_tree(stale)
