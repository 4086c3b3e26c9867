"""Fuzzed input for the live path's box splitter (issue 25): a real fMP4 stream from ffmpeg, fed in random cuts.

Whatever the chunks, the pieces are the same (init, then one fragment per frame, keyframes where ffmpeg put them)
and put together are the stream byte for byte. A damaged stream gives pieces or StreamError, never another
exception. Examples: tests/fuzz_profiles.py.
"""

from __future__ import annotations

import itertools
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facedaemon.outputs.ffmpeg_args import _live_slave
from facedaemon.outputs.live.boxes import FragmentSplitter, Piece, StreamError
from tests import ffmpegs

FRAMES = 40


def real_stream(ffmpeg: str, folder: Path) -> bytes:
    """40 frames as the daemon's live output writes them (the same muxer options), keyframe every 10th."""
    options = _live_slave("x").removeprefix("[").split("]", 1)[0].split(":")
    mp4 = dict(option.split("=", 1) for option in options if not option.startswith(("f=", "onfail=")))
    out = folder / "live.mp4"
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i",
                    f"testsrc=size=160x120:rate=30:duration={FRAMES / 30}", "-c:v", "libx264", "-g", "10",
                    "-pix_fmt", "yuv420p", "-movflags", mp4["movflags"], "-write_prft", mp4["write_prft"],
                    "-f", "mp4", str(out)], check=True, timeout=60)
    return out.read_bytes()


@pytest.fixture(scope="module")
def stream(tmp_path_factory) -> bytes:
    return real_stream(ffmpegs.SUITE(), tmp_path_factory.mktemp("live-boxes"))


def split(data: bytes, cuts: list[int]) -> list[Piece]:
    splitter = FragmentSplitter()
    edges = [0, *sorted(cut % (len(data) + 1) for cut in cuts), len(data)]
    return [piece for start, end in itertools.pairwise(edges) for piece in splitter.feed(data[start:end])]


def test_the_real_stream_is_an_init_and_a_fragment_per_frame(stream: bytes) -> None:
    pieces = split(stream, [])
    assert [piece.kind for piece in pieces] == ["init"] + ["fragment"] * FRAMES
    assert [index for index, piece in enumerate(pieces[1:]) if piece.key] == list(range(0, FRAMES, 10))


@given(cuts=st.lists(st.integers(min_value=0, max_value=1 << 30), max_size=300))
def test_random_cuts_give_the_same_pieces(stream: bytes, cuts: list[int]) -> None:
    pieces = split(stream, cuts)
    assert pieces == split(stream, [])
    assert b"".join(piece.data for piece in pieces) == stream


@given(data=st.data())
def test_a_damaged_stream_gives_pieces_or_a_stream_error(stream: bytes, data: st.DataObject) -> None:
    damaged = bytearray(stream[:data.draw(st.integers(0, len(stream)), label="length")])
    for _ in range(data.draw(st.integers(0, 8), label="changes")):
        if damaged:
            damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(damaged)), max_size=20))
    try:
        pieces = split(bytes(damaged), cuts)
    except StreamError as exc:
        assert "box" in str(exc)
    else:
        assert b"".join(piece.data for piece in pieces) == bytes(damaged)[:sum(len(p.data) for p in pieces)]


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def test_a_fragment_whose_last_child_box_claims_a_64_bit_size_it_lacks_is_no_key_not_a_crash() -> None:
    """Found by the 15,000-example run: a damaged byte made a box inside a moof's traf say 'size 1' (the 64-bit
    size follows) with no room left for that size; reading it raised struct.error out of the splitter."""
    damaged_traf = box(b"traf", struct.pack(">I4s", 1, b"tfhd") + b"\0" * 4)
    stream = (box(b"ftyp", b"iso5\0\0\2\0") + box(b"moov", b"") + box(b"moof", box(b"mfhd", b"\0" * 8) + damaged_traf)
              + box(b"mdat", b"\0" * 4))
    pieces = FragmentSplitter().feed(stream)
    assert [(piece.kind, piece.key) for piece in pieces] == [("init", False), ("fragment", False)]
