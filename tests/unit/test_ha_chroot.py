"""devtools/ha_chroot.py without debootstrap: which Debian mirror it takes from apt's sources, when a chroot counts
as made, and the command that runs in it (a mount namespace of its own, exec'd into the program)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import ha_chroot
from devtools.ha_chroot import Chroot, ChrootUnavailable, debian_mirror


def sources(monkeypatch, tmp_path: Path, files: dict[str, str]) -> None:
    folder = tmp_path / "sources.list.d"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    monkeypatch.setattr(ha_chroot, "APT_SOURCES", (tmp_path / "sources.list", folder))
    monkeypatch.delenv("FACEDAEMON_DEBIAN_MIRROR", raising=False)


def test_the_mirror_is_the_debian_archive_of_apts_deb822_sources(monkeypatch, tmp_path):
    sources(monkeypatch, tmp_path, {"debian.sources": (
        "Types: deb\n# http://snapshot.example/archive/debian/20250520T000000Z\nURIs: http://mirror.example/debian/\n"
        "Suites: bookworm\n\nTypes: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n")})
    assert debian_mirror() == "http://mirror.example/debian"


def test_the_mirror_from_a_one_line_source_skips_other_archives(monkeypatch, tmp_path):
    sources(monkeypatch, tmp_path, {"other.list": "deb https://apt.example/apt cloud-sdk main\n",
                                    "z.list": "deb [arch=amd64] https://m.example/debian bookworm main\n"})
    assert debian_mirror() == "https://m.example/debian"


def test_no_debian_source_is_a_clear_reason_and_the_variable_wins(monkeypatch, tmp_path):
    sources(monkeypatch, tmp_path, {"nodesource.sources": "Types: deb\nURIs: https://deb.example/node_20.x\n"})
    with pytest.raises(ChrootUnavailable, match="FACEDAEMON_DEBIAN_MIRROR"):
        debian_mirror()
    monkeypatch.setenv("FACEDAEMON_DEBIAN_MIRROR", "http://own.example/debian")
    assert debian_mirror() == "http://own.example/debian"


def test_a_chroot_counts_as_made_only_with_the_stamp_of_its_own_recipe(tmp_path):
    chroot = Chroot("sid", ("python3.14", "python3.14-venv"), tmp_path / "chroot-sid")
    assert not chroot.made()
    chroot.root.mkdir()
    chroot.stamp.write_text("debootstrap --variant=minbase --include=python3.13 trixie\n")
    assert not chroot.made()  # another recipe: made again
    chroot.stamp.write_text(chroot.recipe + "made in 297 s\n")
    assert chroot.made()
    assert chroot.make(tmp_path / "log") == 0.0  # nothing to do, no debootstrap run


def test_the_command_mounts_in_a_namespace_of_its_own_and_execs_the_program(tmp_path):
    chroot = Chroot("sid", ("python3.14",), tmp_path / "root")
    command = chroot.command(["/opt/ha/bin/hass", "-c", "/mnt/config"], binds={tmp_path / "ha": "/mnt/config"})
    assert command[:4] == ["unshare", "-m", "--propagation", "private"]
    script = command[6]
    assert 'mount -t proc proc "$R/proc"' in script and f'mount --bind "{tmp_path / "ha"}" "$R/mnt/config"' in script
    assert script.endswith('exec chroot "$R" "$@"')  # the pid is the program's: a SIGTERM reaches it
    assert command[7:] == [str(chroot.root), "/opt/ha/bin/hass", "-c", "/mnt/config"]
