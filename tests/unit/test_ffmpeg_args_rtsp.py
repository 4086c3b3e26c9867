"""The tee command line: one encode, written as HLS and as a raw H.264 stream for the RTSP server."""

from __future__ import annotations

from pathlib import Path

from facedaemon.config.models import EncoderConfig, HlsConfig
from facedaemon.outputs.ffmpeg_args import build_hls_args

OUT = Path("/run/facedaemon/door")


def build(out_dir: Path = OUT, **kwargs) -> list[str]:
    # Without the HLS duration filter (its own tests: test_ffmpeg_args.py), so the two outputs compare as they are.
    kwargs.setdefault("exact_durations", False)
    return build_hls_args("/usr/bin/ffmpeg", width=640, height=360, out_dir=out_dir, hls=HlsConfig(),
                          encoder=EncoderConfig(), fps_hint=15, **kwargs)


def test_off_is_the_plain_hls_command() -> None:
    plain = build()
    assert plain[plain.index("-f", plain.index("-i") + 1) + 1] == "hls", "the output muxer is HLS itself"
    assert plain[-1].endswith("index.m3u8")
    outputs = plain[plain.index("-i") + 2:]
    assert not [arg for arg in outputs if "tee" in arg or "pipe:" in arg], "no second (RTSP) output when off"


def test_tee_argv() -> None:
    plain, tee = build(), build(h264_out="pipe:1")
    hls_at = plain.index("-f", plain.index("-i") + 1)
    assert tee[:hls_at] == plain[:hls_at], "input, filters, codec and keyframes must stay the same"
    assert tee[hls_at:] == [
        "-map", "0:v", "-f", "tee",
        "[f=hls:hls_time=1:hls_list_size=6:hls_delete_threshold=1"
        ":hls_flags=delete_segments+temp_file+independent_segments+omit_endlist+program_date_time"
        ":hls_segment_type=fmp4:hls_fmp4_init_filename=init.mp4"
        ":hls_segment_filename=/run/facedaemon/door/seg_%05d.m4s:start_number=0]/run/facedaemon/door/index.m3u8"
        "|[f=h264:onfail=ignore]pipe:1",
    ]


def test_tee_keeps_start_number() -> None:
    assert ":start_number=42]" in build(h264_out="pipe:1", start_number=42)[-1]


def test_awkward_folder_names_are_escaped_for_both_levels() -> None:
    # The tee splits slaves at '|' (backslash escapes), then options at ':' and ']' (escapes again).
    spec = build(Path("/run/a b:c|d'e]f\\g"), h264_out="pipe:1")[-1]
    assert spec == (
        "[f=hls:hls_time=1:hls_list_size=6:hls_delete_threshold=1"
        ":hls_flags=delete_segments+temp_file+independent_segments+omit_endlist+program_date_time"
        ":hls_segment_type=fmp4:hls_fmp4_init_filename=init.mp4"
        ":hls_segment_filename=/run/a\\ b\\\\:c\\|d\\\\\\'e\\\\]f\\\\\\\\g/seg_%05d.m4s:start_number=0]"
        "/run/a\\ b:c\\|d\\'e]f\\\\g/index.m3u8"
        "|[f=h264:onfail=ignore]pipe:1"
    )
