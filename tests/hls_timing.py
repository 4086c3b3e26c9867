"""Frame times of an fMP4 HLS stream as a player sees them: init.mp4 and consecutive segments joined, read by ffmpeg.

Used by the segment-boundary tests (tests/integration/test_hls_segment_joins.py, tests/e2e/test_hls_boundaries.py):
at every boundary the spacing from a segment's last frame to the next segment's first, and from that first frame to
the second, must be the spacing the encoder stamped (before the fix: 1 ms, then twice the frame interval).

The reference is ffmpeg's own stamps, never the stream's usual spacing: ffmpeg stamps each frame with the wall
clock when it reads it, and on a loaded machine the frames around a keyframe (a segment's first frame) are read
late and then in a burst, so a correct stream has boundary gaps such as 72/1 ms there (issue 25: the old check, the
median interior gap ± 5 ms, failed 4 runs in 4 under load while every HLS frame sat on its encoder stamp).
"""

from __future__ import annotations

import itertools
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


def packet_times(ffmpeg: str, media: Path) -> list[float]:
    """Every video packet's time in seconds (decode order) in a media file, from ffmpeg's framecrc listing.

    -copyts: the file's own times (fMP4: from the start of the encoder's run), not shifted to start at zero, so the
    frames of HLS segments and of the live stream can be matched with the encoder's stamps by time."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-copyts", "-i", str(media),
                           "-map", "0:v",
                           "-c", "copy", "-f", "framecrc", "-"], capture_output=True, text=True, timeout=60,
                          check=True)
    return framecrc_times(done.stdout)


def framecrc_times(listing: str) -> list[float]:
    """Packet DTS in seconds from a framecrc listing ('#tb 0: 1/90000', then 'stream, dts, pts, duration, ...')."""
    time_base = None
    times = []
    for line in listing.splitlines():
        if line.startswith("#tb 0:"):
            num, den = line.split(":", 1)[1].strip().split("/")
            time_base = int(num) / int(den)
        elif line and not line.startswith("#"):
            fields = [field.strip() for field in line.split(",")]
            if fields[0] == "0":
                assert time_base is not None, listing[:500]
                times.append(int(fields[1]) * time_base)
    return times


@dataclass(frozen=True)
class Joined:
    times: list[float]  # every frame of the joined segments, seconds
    starts: list[int]  # index in times of the first frame of each segment after the first

    def gaps(self) -> list[float]:
        return [later - earlier for earlier, later in itertools.pairwise(self.times)]

    def boundary_gaps(self) -> list[tuple[float, float]]:
        """At each boundary: (previous segment's last frame → first frame, first frame → second frame)."""
        gaps = self.gaps()
        return [(gaps[start - 1], gaps[start]) for start in self.starts if start < len(gaps)]

    def interior_gaps(self) -> list[float]:
        near = {index for start in self.starts for index in (start - 1, start)}
        return [gap for index, gap in enumerate(self.gaps()) if index not in near]


def join_segments(ffmpeg: str, init: bytes, segments: list[bytes], tmp: Path) -> Joined:
    """Concatenate init.mp4 + segments (as a player appends them) and read the frame times back."""
    joined = tmp / "joined.mp4"
    joined.write_bytes(init + b"".join(segments))
    counts = []
    for number, segment in enumerate(segments):
        alone = tmp / f"segment-{number}.mp4"
        alone.write_bytes(init + segment)
        counts.append(len(packet_times(ffmpeg, alone)))
    times = packet_times(ffmpeg, joined)
    assert len(times) == sum(counts), (len(times), counts)
    starts, total = [], 0
    for count in counts[:-1]:
        total += count
        starts.append(total)
    return Joined(times, starts)


def describe(joined: Joined) -> str:
    """One line for an assertion message: the boundary gaps and the interior spread, in milliseconds."""
    pairs = ", ".join(f"{before * 1000:.1f}/{after * 1000:.1f}" for before, after in joined.boundary_gaps())
    interior = joined.interior_gaps()
    spread = f"{min(interior) * 1000:.1f}–{max(interior) * 1000:.1f}" if interior else "-"
    return (f"boundary gaps (ms, before/after each segment's first frame): {pairs}; interior gaps {spread} ms, "
            f"median {statistics.median(interior) * 1000 if interior else 0:.1f} ms")


def stamping_ffmpeg(ffmpeg: str, folder: Path) -> tuple[Path, Path]:
    """A stand-in for `ffmpeg` that runs it with the same arguments plus a second output when the first is HLS (or
    the tee with HLS): the same input frames, uncompressed, as a framecrc listing, so a test drives the daemon's
    Encoder unchanged and still reads the stamps ffmpeg gave the frames it read (the ones the encoder passes on,
    -fps_mode passthrough; the listing in the encoder's 90 kHz). Returns (the stand-in, the listing it writes).
    A second output rather than -stats_enc_post: Debian's FFmpeg 5.1 has no such option."""
    listing, wrapper = folder / "input-stamps.txt", folder / "stamping-ffmpeg"
    extra = ["-map", "0:v", "-c:v", "rawvideo", "-fps_mode", "passthrough", "-enc_time_base", "1/90000",
             "-f", "framecrc", str(listing)]
    wrapper.write_text(f"""#!{sys.executable}
import os, sys
argv = sys.argv[1:]
if "hls" in argv or "tee" in argv:
    argv += {extra!r}
os.execv({ffmpeg!r}, [{ffmpeg!r}, *argv])
""")
    wrapper.chmod(0o755)
    return wrapper, listing


def assert_boundaries_follow_stamps(joined: Joined, stamped: list[float], tolerance: float = 0.001) -> None:
    """Frame by frame, the joined segments are a run of the packets the encoder stamped (each within `tolerance`
    of its stamp), and the gaps on both sides of each segment's first frame are the encoder's gaps.

    `stamped`: ffmpeg's frame times on the same timeline (stamping_ffmpeg's listing, or the live stream of the
    same run); it may begin before and end after the joined segments. Frames read in one burst can share a stamp
    (the muxer moves the later one a tick on), so the match is a run of packets, not each frame's nearest stamp."""
    # Each boundary is checked on its own, so two are enough; fewer means ffmpeg was starved so long that it read
    # the frames in bursts (stamps ~1 ms apart, few 0.5 s segments): say so rather than pass on nothing.
    assert len(joined.starts) >= 2, f"only {len(joined.starts)} segment boundaries to check; {describe(joined)}"
    first = _aligned(joined.times, stamped, tolerance)
    assert first is not None, f"{_mismatch(joined.times, stamped, tolerance)}; {describe(joined)}"
    source = stamped[first:first + len(joined.times)]
    gaps = joined.gaps()
    for start in (start for start in joined.starts if start < len(gaps)):
        for index in (start - 1, start):
            want = source[index + 1] - source[index]
            assert abs(gaps[index] - want) <= tolerance, (
                f"frame {index + 1}: {gaps[index] * 1000:.1f} ms after the one before, stamped "
                f"{want * 1000:.1f} ms; {describe(joined)}")


def _mismatch(times: list[float], stamped: list[float], tolerance: float) -> str:
    """Why no run of packets matches: the counts, and the first frame off at the start nearest the first frame."""
    start = min(range(len(stamped)), key=lambda i: abs(stamped[i] - times[0]), default=0)
    pairs = list(zip(times, stamped[start:], strict=False))
    off = next((i for i, (time, stamp) in enumerate(pairs) if abs(time - stamp) > tolerance), len(pairs))
    where = (f"frame {off} at {times[off] * 1000:.1f} ms, the packet there {stamped[start + off] * 1000:.1f} ms"
             if off < len(pairs) else f"every stamp matched but {len(times) - len(pairs)} frames have none")
    return (f"the {len(times)} frames are not a run of the {len(stamped)} encoder packets within "
            f"{tolerance * 1000:g} ms: from packet {start}, first off: {where}")


def _aligned(times: list[float], stamped: list[float], tolerance: float) -> int | None:
    """The index in `stamped` from which every one of `times` matches a packet in order, if any."""
    for first in range(len(stamped) - len(times) + 1):
        if all(abs(stamped[first + index] - time) <= tolerance for index, time in enumerate(times)):
            return first
    return None
