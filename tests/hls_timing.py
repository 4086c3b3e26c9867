"""Frame times of an fMP4 HLS stream as a player sees them: init.mp4 and consecutive segments joined, read by ffmpeg.

Used by the segment-boundary tests (tests/integration/test_hls_segment_joins.py, tests/e2e/test_hls_boundaries.py):
at every boundary the spacing from a segment's last frame to the next segment's first, and from that first frame to
the second, must be the source's spacing (before the fix: 1 ms, then twice the frame interval).
"""

from __future__ import annotations

import itertools
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path


def packet_times(ffmpeg: str, media: Path) -> list[float]:
    """Every video packet's time in seconds (decode order) in a media file, from ffmpeg's framecrc listing."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(media), "-map", "0:v",
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


def assert_no_boundary_stutter(joined: Joined, tolerance: float = 0.005) -> None:
    """The gaps on both sides of each segment's first frame match the stream's usual spacing (median of boundaries,
    so one frame late on a loaded machine does not fail it; the stutter is at every boundary)."""
    assert len(joined.starts) >= 4, describe(joined)
    usual = statistics.median(joined.interior_gaps())
    before = statistics.median(abs(gap - usual) for gap, _ in joined.boundary_gaps())
    after = statistics.median(abs(gap - usual) for _, gap in joined.boundary_gaps())
    assert before <= tolerance and after <= tolerance, describe(joined)
