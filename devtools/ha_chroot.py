"""A Debian chroot that gives a Python this machine lacks (Home Assistant 2026.x needs Python >= 3.14.2; Debian
unstable has it): made once with `debootstrap` from Debian's packages into the tests' cache outside the checkout,
and commands run in it inside their own mount namespace (`unshare -m`), so the /proc, /dev and folder mounts they
need vanish with them and nothing is left mounted on the host.

Needs root (debootstrap, chroot and unshare do), `debootstrap` (scripts/test-deps) and `unshare` (util-linux).
The Debian mirror is the one this machine's apt uses (FACEDAEMON_DEBIAN_MIRROR: another).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MAKE_TIMEOUT = 900  # debootstrap: 5 min measured with the machine loaded (docs/performance.md)
# A clean environment in the chroot: the host's PIP_CERT or PIP_FIND_LINKS name files it does not have
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
       "TZ": "UTC"}
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))


class ChrootUnavailable(Exception):
    """The chroot cannot be had here: the reason, in words."""


@dataclass(frozen=True)
class Chroot:
    """A debootstrapped Debian `suite` with `packages`, at `root` (made by make())."""

    suite: str
    packages: tuple[str, ...]
    root: Path

    @property
    def recipe(self) -> str:
        return f"debootstrap --variant=minbase --include={','.join(self.packages)} {self.suite}\n"

    @property
    def stamp(self) -> Path:
        return self.root / ".facedaemon-made"

    def made(self) -> bool:
        return self.stamp.is_file() and self.stamp.read_text().startswith(self.recipe)

    def make(self, log: Path) -> float:
        """debootstrap once (a half-made one is made again); the seconds it took, 0 when it was there."""
        if self.made():
            return 0.0
        missing = [tool for tool in ("debootstrap", "unshare", "chroot") if shutil.which(tool) is None]
        if missing:
            raise ChrootUnavailable(f"{', '.join(missing)} not found (scripts/test-deps installs debootstrap)")
        if os.geteuid() != 0:
            raise ChrootUnavailable("making a Debian chroot needs root (debootstrap)")
        mirror = debian_mirror()
        partial = self.root.with_name(self.root.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        command = ["debootstrap", "--variant=minbase", f"--include={','.join(self.packages)}", self.suite,
                   str(partial), mirror]
        try:
            with log.open("wb") as out:
                subprocess.run(command, check=True, stdout=out, stderr=subprocess.STDOUT, timeout=MAKE_TIMEOUT)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            shutil.rmtree(partial, ignore_errors=True)
            raise ChrootUnavailable(f"debootstrap {self.suite} failed: {exc}\n{tail}") from exc
        (partial / "mnt" / "config").mkdir(parents=True, exist_ok=True)
        (partial / ".facedaemon-made").write_text(self.recipe + f"made in {time.monotonic() - started:.0f} s\n")
        shutil.rmtree(self.root, ignore_errors=True)
        partial.rename(self.root)
        return time.monotonic() - started

    def command(self, argv: list[str], binds: dict[Path, str] | None = None) -> list[str]:
        """`argv` run in the chroot in a mount namespace of its own, with /proc, /dev, the host's CA bundle (a
        proxy's CA counts) and `binds` (host path -> path in the chroot, which must exist there) mounted. The
        command execs into argv: its pid is argv's, so a signal to it reaches argv."""
        mounts = ['mount -t proc proc "$R/proc"', 'mount --rbind /dev "$R/dev"']
        ca = Path("/etc/ssl/certs/ca-certificates.crt")
        if ca.is_file() and (self.root / "etc/ssl/certs/ca-certificates.crt").is_file():
            mounts.append(f'mount --bind {ca} "$R/etc/ssl/certs/ca-certificates.crt"')
        for host, inside in (binds or {}).items():
            mounts.append(f'mount --bind "{host}" "$R{inside}"')
        script = " && ".join(mounts) + ' && exec chroot "$R" "$@"'
        return ["unshare", "-m", "--propagation", "private", "sh", "-c", f'R="$0"; {script}', str(self.root),
                *argv]


def debian_mirror() -> str:
    """The Debian archive this machine's apt uses (its sources), or FACEDAEMON_DEBIAN_MIRROR."""
    if own := os.environ.get("FACEDAEMON_DEBIAN_MIRROR"):
        return own
    files = []
    for place in APT_SOURCES:
        files += sorted(place.glob("*.sources")) + sorted(place.glob("*.list")) if place.is_dir() else [place]
    for path in files:
        text = path.read_text(errors="replace") if path.is_file() else ""
        for uri in re.findall(r"^\s*(?:URIs:|deb)\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.MULTILINE):
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    raise ChrootUnavailable("no Debian mirror in this machine's apt sources (set FACEDAEMON_DEBIAN_MIRROR)")
