"""The decoding ffmpeg's command line, its stream report, the concat list that carries a camera's URL, and what a
decoded source says about its stream."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from facedaemon.sources.decode import (
    Decoder,
    StreamInfo,
    concat_list,
    cropped_size,
    decode_args,
    file_input,
    last_words,
    parse_stream_info,
    resume_point,
    rtsp_input,
    shown_frame,
    shown_time_base,
)
from facedaemon.sources.file import FileSource
from facedaemon.sources.rtsp import RtspSource

# ffmpeg 5.1 (Debian 12) and 9.0 (imageio-ffmpeg) print these lines alike.
FILE_LOG = [
    "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from '/tmp/people.mp4':",
    "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1280x720 [SAR 1:1 DAR "
    "16:9], 178 kb/s, 30 fps, 30 tbr, 15360 tbn (default)",
    "  Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))",
    "Output #0, rawvideo, to 'pipe:1':",
    "  Stream #0:0(und): Video: rawvideo (I420 / 0x30323449), yuv420p(progressive), 1280x720 [SAR 1:1 DAR 16:9], "
    "q=2-31, 331776 kb/s, 30 fps, 30 tbn (default)",
]
CAMERA_LOG = [
    "Input #0, concat, from '/dev/fd/3':",
    "  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(progressive), 641x361, 15 tbr, 90k tbn",
    "Output #0, rawvideo, to 'pipe:1':",
    "  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p(progressive), 640x360, q=2-31, 41472 kb/s, 15 fps",
]


def test_the_report_gives_the_input_rate_and_the_output_size() -> None:
    assert parse_stream_info(FILE_LOG) == StreamInfo(30.0, (1280, 720), "h264")
    assert parse_stream_info(CAMERA_LOG) == StreamInfo(15.0, (640, 360), "h264"), "tbr when no fps; the cropped size"
    assert parse_stream_info(CAMERA_LOG).text() == "h264 640x360, 15 fps"
    assert StreamInfo(None, (640, 360)).text() == "video 640x360"
    assert parse_stream_info(FILE_LOG[:4]) is None, "not described until the output stream is"
    assert parse_stream_info(["Output #0, rawvideo, to 'pipe:1':", FILE_LOG[4].replace("30 fps", "")]) == \
        StreamInfo(None, (1280, 720))


def test_argv_decodes_the_first_video_stream_to_even_i420_frames_as_they_come() -> None:
    argv = decode_args("/usr/bin/ffmpeg", file_input("/v/a.mp4", loop=True), threads=1)
    assert argv[:2] == ["/usr/bin/ffmpeg", "-hide_banner"] and argv[-1] == "pipe:1"
    assert argv[argv.index("-threads") + 1] == "1" and argv.index("-stream_loop") < argv.index("-i")
    assert argv[argv.index("-pix_fmt") + 1] == "yuv420p" and argv[argv.index("-f", argv.index("-i")) + 1] == "rawvideo"
    assert argv[argv.index("-vf") + 1] == "crop=trunc(iw/2)*2:trunc(ih/2)*2"
    assert argv[argv.index("-fps_mode") + 1] == "passthrough", "a camera's frames are not duplicated or dropped"
    assert "-stream_loop" not in decode_args("ffmpeg", file_input("/v/a.mp4", loop=False))
    assert "-threads" not in decode_args("ffmpeg", rtsp_input(5)), "cameras: ffmpeg's own thread count"


def test_a_cameras_url_travels_in_the_list_not_in_argv() -> None:
    url = "rtsp://viewer:it's%20me@192.0.2.7:554/door"
    argv = decode_args("ffmpeg", rtsp_input(7))
    assert not any("192.0.2.7" in arg for arg in argv) and argv[argv.index("-i") + 1] == "/dev/fd/7"
    listing = concat_list(url).splitlines()
    assert listing[0] == "ffconcat version 1.0"
    assert listing[1] == "file 'rtsp://viewer:it'\\''s%20me@192.0.2.7:554/door'", "quotes escaped as ffconcat wants"
    assert "option rtsp_transport tcp" in listing and "option analyzeduration 1000000" in listing


def test_the_transport_is_the_cameras_choice() -> None:
    url = "rtsp://192.0.2.7:554/door"
    tcp = concat_list(url).splitlines()
    assert "option rtsp_transport tcp" in tcp and concat_list(url, "tcp") == concat_list(url), "tcp by default"
    assert not any("buffer_size" in line for line in tcp), "TCP needs no UDP receive buffer"
    udp = concat_list(url, "udp").splitlines()
    assert "option rtsp_transport udp" in udp and "option rtsp_transport tcp" not in udp
    assert f"option buffer_size {4 << 20}" in udp, "a 4K keyframe's burst of packets fits the socket buffer"
    assert "option reorder_queue_size 64" in udp and "option timeout 10000000" in udp


def test_an_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match="rtsp_transport must be tcp or udp"):
        concat_list("rtsp://192.0.2.7/door", "http")


def test_a_filter_reconfiguration_line_gives_the_new_size() -> None:
    # ffmpeg 5.1 and 9.0 at -loglevel verbose, after a camera's resolution changed mid-stream.
    assert cropped_size("[Parsed_crop_0 @ 0x55b06a565a40] w:1280 h:720 sar:1/1 -> w:1280 h:720 sar:1/1") == \
        (1280, 720)
    assert cropped_size("[Parsed_crop_0 @ 0x7f80ac002440] w:1281 h:721 sar:1/1 -> w:1280 h:720 sar:1/1") == \
        (1280, 720), "the cropped (even) size"
    assert cropped_size("[scaler_out_0_0 @ 0x55b06a90bd40] w:1280 h:720 fmt:yuv444p sar:1/1 -> w:640 h:360") is None
    assert cropped_size("[h264 @ 0x55b06a574480] Reinit context to 1280x720, pix_fmt: yuv444p") is None
    assert decode_args("ffmpeg", rtsp_input(5))[5] == "verbose", "the reconfiguration lines are verbose ones"


def test_a_file_is_decoded_with_each_frames_time_and_size_and_a_camera_without() -> None:
    vf = decode_args("ffmpeg", file_input("/v/a.ts", loop=False), frame_info=True)
    assert vf[vf.index("-vf") + 1] == "crop=trunc(iw/2)*2:trunc(ih/2)*2,showinfo=checksum=0", "after the crop, no sums"
    resumed = decode_args("ffmpeg", file_input("/v/a.ts", loop=False, start=2.98), frame_info=True, size=(1280, 720))
    assert resumed[resumed.index("-vf") + 1] == "crop=trunc(iw/2)*2:trunc(ih/2)*2,showinfo=checksum=0,scale=1280:720", \
        "played on from a size change: written at the new size whatever ffmpeg decoded first; each own size seen"
    camera = decode_args("ffmpeg", rtsp_input(5))
    assert camera[camera.index("-vf") + 1] == "crop=trunc(iw/2)*2:trunc(ih/2)*2", "no line per frame for a camera"


def test_showinfo_lines_give_each_frames_pts_and_size_and_the_time_base() -> None:
    # ffmpeg 9.0 (imageio-ffmpeg) and 5.1 (Debian 12), -loglevel verbose, showinfo=checksum=0.
    assert shown_frame("[Parsed_showinfo_1 @ 0x7f32bc005200] n:  74 pts: 536400 pts_time:5.96    duration:   3600 "
                       "duration_time:0.04    fmt:yuv420p cl:left sar:1/1 s:1280x720 i:P iskey:0 type:P ") == \
        (536400, (1280, 720))
    assert shown_frame("[Parsed_showinfo_1 @ 0x5582a44e2800] n:   0 pts:   1800 pts_time:0.02    pos:   682816 "
                       "fmt:yuv420p sar:1/1 s:640x360 i:P iskey:1 type:I ") == (1800, (640, 360))
    assert shown_frame("[Parsed_showinfo_1 @ 0x1] n:   3 pts:NOPTS pts_time:NOPTS fmt:yuv420p s:320x180 i:P") == \
        (None, (320, 180))
    assert shown_frame("[Parsed_showinfo_1 @ 0x7f92f4002280] color_range:unknown color_space:unknown") is None
    assert shown_frame("[Parsed_crop_0 @ 0x55b06a565a40] w:1280 h:720 sar:1/1 -> w:1280 h:720 sar:1/1") is None
    line = "[Parsed_showinfo_1 @ 0x7f92f4002280] config in time_base: 1/90000, frame_rate: 25/1"
    assert shown_time_base(line) == Fraction(1, 90000)
    assert shown_time_base("[Parsed_showinfo_1 @ 0x7f92f4002280] config out time_base: 0/0, frame_rate: 0/0") is None


def test_a_file_plays_on_half_a_frame_before_the_new_sizes_first_frame() -> None:
    assert file_input("/v/a.ts", loop=True, start=2.98) == ["-ss", "2.980000", "-i", "/v/a.ts"], \
        "seek before -i; no -stream_loop: the file starts again through the source, which tells the owner"
    assert file_input("/v/a.ts", loop=True, start=0.0) == ["-stream_loop", "-1", "-i", "/v/a.ts"]
    assert resume_point(0.0, 3.0, 25.0) == pytest.approx(2.98), "the frame before (2.96) is not played again"
    assert resume_point(2.98, 3.02, 25.0) == pytest.approx(5.98), "a second change: from where that run began"
    assert resume_point(0.0, 3.0, 50.0) == pytest.approx(2.99)
    assert resume_point(2.98, 0.0, 25.0) is None, "the time went back at the change: no way on"
    assert resume_point(2.98, 0.01, 25.0) is None
    assert resume_point(0.0, None, 25.0) is None, "no timestamp"


def test_the_reason_is_the_last_line_before_the_exit_summary() -> None:
    refused = ["[concat @ 0x55c8] Impossible to open 'rtsp://***@127.0.0.1:18999/cam'",
               "[AVIOContext @ 0x55c8] Statistics: 85 bytes read, 0 seeks", "l.txt: Connection refused"]
    assert last_words(refused) == "l.txt: Connection refused"
    ended = ["[h264 @ 0x1] error while decoding MB 3 4", "frame=  120 fps=0.0 q=-0.0 Lsize=   40500KiB",
             "[in#0/mpegts @ 0x5] Input file #0 (t_noz.ts):",
             "[in#0/mpegts @ 0x5]   Total: 120 packets (139685 bytes) demuxed",
             "[AVIOContext @ 0x5] Statistics: 519444 bytes read, 2 seeks", "", "Exiting with exit code 0",
             "video:40500kB audio:0kB", "  Input stream #0:0 (video): 120 packets read"]
    assert last_words(ended) == "[h264 @ 0x1] error while decoding MB 3 4"
    assert last_words(["Exiting normally, received signal 15."]) is None
    truncated = ["[h264 @ 0x1] Invalid NAL unit size (3 > 1).", "[h264 @ 0x1] error while decoding MB 3 4",
                 "[Parsed_showinfo_1 @ 0x7f] n:  41 pts: 151200 pts_time:1.68 fmt:yuv420p s:640x360 i:P",
                 "[Parsed_showinfo_1 @ 0x7f] color_range:unknown color_space:unknown"]
    assert last_words(truncated) == "[h264 @ 0x1] error while decoding MB 3 4", "a file's frame reports say no why"


def test_a_401_or_403_is_a_refusal_and_other_failures_are_not() -> None:
    from facedaemon.sources.rtsp import refused

    assert refused("cannot open rtsp://***@h/cam: /dev/fd/3: Server returned 401 Unauthorized (authorization failed)")
    assert refused("cannot open rtsp://***@h/cam: /dev/fd/3: Server returned 403 Forbidden (access denied)")
    assert not refused("cannot open rtsp://***@h/cam: /dev/fd/3: Connection refused")
    assert not refused("cannot open rtsp://***@h/cam: no stream after 15 s")


def test_damage_is_counted_from_ffmpegs_reports() -> None:
    from facedaemon.sources.decode import Damage

    damage = Damage()
    for line in ["[h264 @ 0x5] concealing 480 DC, 480 AC, 480 MV errors in I frame",
                 "rtsp://127.0.0.1:8554/cam: corrupt decoded frame in stream 0",
                 "[hevc @ 0x5] Could not find ref with POC 7",
                 "[rawvideo @ 0x5] Application provided invalid, non monotonically increasing dts to muxer in stream 0",
                 "[Parsed_crop_0 @ 0x5] w:1280 h:720 sar:1/1 -> w:1280 h:720 sar:1/1",
                 "[tcp @ 0x5] Successfully connected to 127.0.0.1 port 8554"]:
        damage.note(line)
    assert (damage.broken, damage.jumped) == (3, 1)
    assert damage.last.startswith("[rawvideo @ 0x5] Application provided invalid")


@pytest.mark.parametrize("make", [lambda: FileSource(Path("clip.mp4")), lambda: RtspSource("rtsp://cam/1")],
                         ids=["file", "rtsp"])
def test_decoded_sources_say_what_their_decoder_found_and_nothing_while_closed(make) -> None:
    source = make()
    assert source.details is None and source.damage is None
    decoder = Decoder("ffmpeg", ["-i", "x"], description="cam")
    decoder.info = StreamInfo(15.0, (3840, 2160), "hevc")
    source._decoder = decoder
    assert source.details == "hevc 3840x2160, 15 fps" and source.damage is decoder.damage


def test_a_resumed_file_whose_first_frame_is_the_old_size_again_is_a_clear_error() -> None:
    # Timestamps that go back at the change (files joined byte by byte) can land the seek in the first part.
    from facedaemon.sources.base import SourceError, SourceResized

    class Landed:
        info, position = StreamInfo(25.0, (1280, 720)), None

        def next(self):
            raise SourceResized("/v/cat.ts", (1280, 720), (640, 360), at=0.02)

        def close(self) -> None:
            pass

    source = FileSource(Path("/v/cat.ts"))
    source._decoder, source._start, source._change_at = Landed(), 1.98, 2.0
    with pytest.raises(SourceError, match=r"cat\.ts on from its size change at 2\.00 s: found 640x360 there, not "
                                          r"1280x720") as caught:
        source.read()
    assert not isinstance(caught.value, SourceResized), "not another change to follow: that could go round for ever"
