from pathlib import Path

import pytest

from facedaemon.config.models import EncoderConfig, HlsConfig
from facedaemon.outputs.ffmpeg_args import HLS_DURATION_BSF, build_hls_args, parse_bitrate
from facedaemon.runtime.hls import HLS_FILE, next_segment_number

OUT = Path("/run/facedaemon/cam1")


def build(encoder: EncoderConfig | None = None, hls: HlsConfig | None = None, **kwargs) -> list[str]:
    params = {"width": 640, "height": 360, "out_dir": OUT, "hls": hls or HlsConfig(),
              "encoder": encoder or EncoderConfig(), **kwargs}
    return build_hls_args("/usr/bin/ffmpeg", **params)


def value(args: list[str], flag: str) -> str:
    """The argument after flag, which must occur exactly once."""
    assert args.count(flag) == 1, f"{flag} occurs {args.count(flag)} times in {args}"
    return args[args.index(flag) + 1]


def before_input(args: list[str], flag: str) -> bool:
    return args.index(flag) < args.index("-i")


def test_reads_wallclock_stamped_raw_bgr_from_stdin() -> None:
    args = build()
    assert args[0] == "/usr/bin/ffmpeg"
    assert value(args, "-i") == "pipe:0"
    for flag, expected in [("-f", "rawvideo"), ("-video_size", "640x360"), ("-use_wallclock_as_timestamps", "1"),
                           ("-framerate", "1000"), ("-fpsprobesize", "0")]:
        assert args[args.index(flag) + 1] == expected
        assert before_input(args, flag), flag
    assert args[args.index("-pix_fmt") + 1] == "yuv420p" and before_input(args, "-pix_fmt")
    assert "-nostdin" in args and "-an" in args
    assert value(args, "-loglevel") == "warning"


def test_writes_fmp4_hls_into_out_dir() -> None:
    args = build(hls=HlsConfig(segment_seconds=2.0, playlist_size=4), start_number=42)
    assert args[-1] == str(OUT / "index.m3u8")
    assert value(args, "-hls_time") == "2"
    assert value(args, "-hls_list_size") == "4"
    assert value(args, "-hls_segment_type") == "fmp4"
    assert value(args, "-hls_fmp4_init_filename") == "init.mp4"
    assert value(args, "-hls_segment_filename") == str(OUT / "seg_%05d.m4s")
    assert value(args, "-start_number") == "42"
    flags = set(value(args, "-hls_flags").split("+"))
    assert {"delete_segments", "temp_file", "independent_segments", "omit_endlist"} <= flags
    assert args[args.index("-f", args.index("-i")) + 1] == "hls"


@pytest.mark.parametrize(("seconds", "expr"), [(1.0, "expr:gte(t,n_forced*1)"), (0.5, "expr:gte(t,n_forced*0.5)"),
                                               (2.5, "expr:gte(t,n_forced*2.5)")])
def test_keyframe_at_every_segment_start(seconds: float, expr: str) -> None:
    args = build(hls=HlsConfig(segment_seconds=seconds))
    assert value(args, "-force_key_frames") == expr
    assert not before_input(args, "-force_key_frames")


@pytest.mark.parametrize(
    ("encoder", "expected", "absent"),
    [
        (EncoderConfig(), {"-c:v": "libx264", "-preset": "ultrafast", "-tune": "zerolatency", "-crf": "23",
                           "-x264-params": "fps=30"}, ["-b:v", "-maxrate", "-vaapi_device"]),
        (EncoderConfig(preset="veryfast", crf=30), {"-preset": "veryfast", "-crf": "30"}, ["-b:v"]),
        (EncoderConfig(bitrate="2M"), {"-b:v": "2000000", "-maxrate": "2000000", "-bufsize": "4000000"},
         ["-crf"]),
        (EncoderConfig(bitrate="800k"), {"-b:v": "800000"}, ["-crf"]),
        (EncoderConfig(codec="h264_v4l2m2m"), {"-c:v": "h264_v4l2m2m", "-b:v": "2000000", "-framerate": "30"},
         ["-crf", "-preset", "-tune", "-x264-params"]),
        (EncoderConfig(codec="h264_v4l2m2m", bitrate="3M"), {"-b:v": "3000000"}, ["-crf"]),
        (EncoderConfig(codec="h264_vaapi"), {"-c:v": "h264_vaapi", "-vaapi_device": "/dev/dri/renderD128",
                                             "-vf": "format=nv12,hwupload", "-qp": "23"},
         ["-c:v h264_vaapi -pix_fmt", "-b:v", "-preset"]),
        (EncoderConfig(codec="h264_vaapi", bitrate="4M"), {"-b:v": "4000000"}, ["-qp"]),
        (EncoderConfig(codec="libx265", bitrate="1M"), {"-c:v": "libx265", "-b:v": "1000000"}, ["-preset"]),
    ],
)
def test_codec_arguments(encoder: EncoderConfig, expected: dict[str, str], absent: list[str]) -> None:
    args = build(encoder)
    for flag, expected_value in expected.items():
        assert value(args, flag) == expected_value, flag
    joined = " ".join(args)
    for flag in absent:
        assert f"{flag} " not in joined, flag
    assert value(args, "-fps_mode") == "passthrough"
    assert value(args, "-enc_time_base") == "1/90000"


@pytest.mark.parametrize("codec", ["libx264", "h264_v4l2m2m", "libx265"])
def test_software_paths_encode_yuv420p(codec: str) -> None:
    args = build(EncoderConfig(codec=codec))
    output_pix_fmts = [args[i + 1] for i, arg in enumerate(args) if arg == "-pix_fmt" and i > args.index("-i")]
    assert output_pix_fmts == ["yuv420p"]


def test_vaapi_device_is_a_global_option() -> None:
    args = build(EncoderConfig(codec="h264_vaapi"))
    assert before_input(args, "-vaapi_device")


@pytest.mark.parametrize(("width", "height"), [(641, 360), (640, 361), (3, 3)])
def test_odd_sizes_are_refused(width: int, height: int) -> None:
    with pytest.raises(ValueError, match="even"):
        build(width=width, height=height)  # the encoder crops frames to even sizes before building


def test_fps_hint() -> None:
    assert value(build(fps_hint=12.5), "-x264-params") == "fps=12.5"
    assert value(build(EncoderConfig(codec="h264_v4l2m2m"), fps_hint=15), "-framerate") == "15"


@pytest.mark.parametrize("kwargs", [{"width": 1}, {"height": 0}, {"fps_hint": 0}])
def test_rejects_impossible_sizes(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        build(**kwargs)


def test_all_arguments_are_strings() -> None:
    for encoder in [EncoderConfig(), EncoderConfig(codec="h264_vaapi", bitrate="1M")]:
        assert all(isinstance(arg, str) for arg in build(encoder))


@pytest.mark.parametrize(("text", "bits"), [("2M", 2_000_000), ("800k", 800_000), ("1500000", 1_500_000),
                                            ("1.5M", 1_500_000), ("1g", 1_000_000_000), (" 2m ", 2_000_000)])
def test_parse_bitrate(text: str, bits: int) -> None:
    assert parse_bitrate(text) == bits


@pytest.mark.parametrize("text", ["", "fast", "2 M", "-1M", "0", "2Mbps", "1e6"])
def test_parse_bitrate_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"encoder\.bitrate"):
        parse_bitrate(text)


def test_bad_bitrate_is_refused_by_the_config_and_by_the_builder() -> None:
    with pytest.raises(ValueError, match="must be a bitrate"):
        EncoderConfig(bitrate="lots")
    with pytest.raises(ValueError, match=r"encoder\.bitrate"):
        build(EncoderConfig.model_construct(**{**EncoderConfig().model_dump(), "bitrate": "lots"}))


@pytest.mark.parametrize(
    ("name", "allowed"),
    [("index.m3u8", True), ("init.mp4", True), ("seg_00000.m4s", True), ("seg_123456.m4s", True),
     ("seg_0001.m4s", False), ("index.m3u8.tmp", False), ("seg_00001.m4s.tmp", False), ("../status.json", False),
     ("status.json", False), ("seg_00001.m4s/x", False), ("INDEX.M3U8", False), ("init.mp4\n", False),
     ("seg_\u0661\u0662\u0663\u0664\u0665.m4s", False)],
)
def test_hls_file_allowlist(name: str, allowed: bool) -> None:
    assert bool(HLS_FILE.match(name)) is allowed


@pytest.mark.parametrize(
    ("names", "expected"),
    [([], 0), (["index.m3u8", "init.mp4"], 0), (["seg_00000.m4s"], 1), (["seg_00007.m4s", "seg_00012.m4s"], 13),
     (["seg_00099.m4s.tmp", "seg_00003.m4s"], 4), (["seg_100000.m4s", "seg_99999.m4s"], 100001)],
)
def test_next_segment_number(names: list[str], expected: int) -> None:
    assert next_segment_number(names) == expected


def test_hls_packets_get_their_real_duration() -> None:
    # The duration filter sits on the HLS output (after the encoder, before the muxer) and reads the next DTS.
    args = build()
    bsf = value(args, "-bsf:v")
    assert bsf == HLS_DURATION_BSF
    assert bsf.startswith("setts=duration=") and "NEXT_DTS-DTS" in bsf
    assert args.index("-bsf:v") > args.index("-c:v") and args.index("-bsf:v") < args.index("-f", args.index("-i"))
    assert "-bsf:v" not in build(exact_durations=False)


def test_tee_puts_the_duration_filter_on_the_hls_slave_only() -> None:
    spec = build(h264_out="pipe:1")[-1]
    hls_slave, h264_slave = spec.split("]pipe:1")[0].rsplit("|", 1)
    assert "bsfs/v=setts=duration=" in hls_slave
    assert "setts" not in h264_slave, "the RTSP side must not wait a frame for the filter"
    assert "-bsf:v" not in build(h264_out="pipe:1")
