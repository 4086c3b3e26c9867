"""The per-camera HLS folder: which files belong there, and a clean start for each ffmpeg run."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

PLAYLIST = "index.m3u8"
INIT = "init.mp4"
SEGMENT_PATTERN = "seg_%05d.m4s"  # ffmpeg's -hls_segment_filename; five digits, more once numbers grow past them

# Files the web app may serve from a camera folder (anything else there is ffmpeg's temporary or foreign).
# \Z, not $: '$' also matches before a trailing newline. [0-9], not \d: \d accepts any Unicode digit.
HLS_FILE = re.compile(r"^(index\.m3u8|init\.mp4|seg_[0-9]{5,}\.m4s)\Z")
_SEGMENT = re.compile(r"^seg_([0-9]{5,})\.m4s\Z")
# What a previous ffmpeg may have left, including its half-written temp files (temp_file flag: <name>.tmp).
_OURS = re.compile(r"^(index\.m3u8|init\.mp4|seg_[0-9]{5,}\.m4s)(\.tmp)?\Z")


def playlist_path(out_dir: Path) -> Path:
    return out_dir / PLAYLIST


def next_segment_number(names: list[str]) -> int:
    """One past the highest segment number among names (0 if none): numbering continues across restarts, so a
    player or cache never confuses a new segment with an old one of the same name."""
    numbers = [int(match[1]) for name in names if (match := _SEGMENT.match(name))]
    return max(numbers) + 1 if numbers else 0


def prepare_hls_dir(out_dir: Path) -> int:
    """Create out_dir and remove a previous run's HLS files; return the segment number to start at.

    The playlist goes first so it is never served while the files it lists are disappearing. Only files named
    like ours are touched, so a mistyped runtime_dir cannot wipe anything else.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [entry.name for entry in out_dir.iterdir()]
    start = next_segment_number(names)
    ordered = sorted((name for name in names if _OURS.match(name)), key=lambda name: name != PLAYLIST)
    for name in ordered:
        (out_dir / name).unlink(missing_ok=True)
    return start


def remove_hls_dir(out_dir: Path) -> None:
    """On stop: the last seconds of video must not outlive the daemon. Removes only files named like ours (the
    playlist first), then the folder if that left it empty."""
    try:
        names = [entry.name for entry in out_dir.iterdir()]
    except OSError:
        return
    for name in sorted((n for n in names if _OURS.match(n)), key=lambda n: n != PLAYLIST):
        (out_dir / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty (something else is there): leave it
        out_dir.rmdir()
