"""The live path's tee output: fragmented MP4, one fragment per frame, beside HLS (and RTSP) from the one encode."""

from __future__ import annotations

from pathlib import Path

from facedaemon.config.models import EncoderConfig, HlsConfig
from facedaemon.outputs.ffmpeg_args import build_hls_args

OUT = Path("/run/facedaemon/door")
LIVE = ("[f=mp4:movflags=empty_moov+delay_moov+default_base_moof+frag_every_frame+skip_trailer"
        ":write_prft=wallclock:onfail=ignore]pipe:7")


def build(**kwargs) -> list[str]:
    return build_hls_args("/usr/bin/ffmpeg", width=640, height=360, out_dir=OUT, hls=HlsConfig(),
                          encoder=EncoderConfig(), fps_hint=15, **kwargs)


def slaves(argv: list[str]) -> list[str]:
    assert argv[-2:-1] == ["tee"], argv[-4:]
    return argv[-1].split("|")


def test_live_alone_is_a_second_tee_output_after_hls() -> None:
    plain, live = build(), build(live_out="pipe:7")
    outputs_at = live.index("-map")  # where the outputs begin; the plain command has its HLS output there
    assert live[:outputs_at] == plain[:outputs_at], "input, filters, codec and keyframes stay the same: one encode"
    outputs = slaves(live)
    assert outputs[0].startswith("[f=hls:") and outputs[0].endswith("]/run/facedaemon/door/index.m3u8")
    assert outputs[1:] == [LIVE]


def test_live_beside_rtsp_is_the_third_output() -> None:
    outputs = slaves(build(h264_out="pipe:1", live_out="pipe:7"))
    assert outputs[1:] == ["[f=h264:onfail=ignore]pipe:1", LIVE]
