"""The ffmpeg command line that turns raw I420 frames on stdin into a live fMP4 HLS stream (pure, no I/O)."""

from __future__ import annotations

from pathlib import Path

from facedaemon.config.models import BITRATE, EncoderConfig, HlsConfig
from facedaemon.runtime.hls import INIT, SEGMENT_PATTERN, playlist_path

VAAPI_DEVICE = "/dev/dri/renderD128"
V4L2M2M_DEFAULT_BITRATE = 2_000_000  # the Pi's encoder has no constant-quality mode: it needs a target
_BITRATE = BITRATE  # one definition: the config validates what this parses
_MULTIPLIER = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}

# Input timestamps come from the wall clock: frames dropped upstream leave real gaps instead of the stream running
# fast. The rawvideo demuxer's time base is 1/framerate, so its default (25) would round two frames 30 ms apart onto
# the same tick (non-monotonic DTS); declaring 1000 keeps millisecond precision.
_CLOCK_RATE = 1000
DEFAULT_FPS_HINT = 30.0

# Every packet's duration is the real gap to the next one. The demuxer gives each frame one tick (1 ms at
# _CLOCK_RATE), and the fMP4 muxer uses that for the last sample of a fragment: the HLS muxer cuts a segment with an
# explicit flush, then the mp4 muxer moves the next segment's first frame to where that duration ends. A 33 ms frame
# would be stamped 1 ms after the one before it and the next one 65 ms later, a stutter at every boundary. setts
# holds one packet back (one frame of delay, on HLS only) so that it can read the next packet's DTS; the last packet
# of a run repeats the previous gap.
HLS_DURATION_BSF = (
    "setts=duration=if(eq(NEXT_DTS\\,NOPTS)\\,if(eq(PREV_INDTS\\,NOPTS)\\,DURATION\\,DTS-PREV_INDTS)"
    "\\,NEXT_DTS-DTS)"
)


def parse_bitrate(value: str) -> int:
    """'2M' → 2000000, '800k' → 800000, '1500000' → 1500000; ValueError naming the key otherwise."""
    match = _BITRATE.match(value.strip())
    if not match:
        raise ValueError(f"encoder.bitrate: {value!r} is not a bitrate such as 800k, 2M or 1500000")
    bits = int(float(match[1]) * _MULTIPLIER[match[2].lower()])
    if bits <= 0:
        raise ValueError(f"encoder.bitrate: {value!r} must be above zero")
    return bits


def build_hls_args(
    ffmpeg: str,
    *,
    width: int,
    height: int,
    out_dir: Path,
    hls: HlsConfig,
    encoder: EncoderConfig,
    start_number: int = 0,
    fps_hint: float = DEFAULT_FPS_HINT,
    h264_out: str | None = None,
    exact_durations: bool = True,
    live_out: str | None = None,
) -> list[str]:
    """argv for one ffmpeg run reading I420 (yuv420p) width×height frames from stdin, writing out_dir/index.m3u8.

    Frames are I420 from the source on (yuv.py: no conversion here or in ffmpeg, half the bytes of BGR), even
    sizes only: 4:2:0 chroma needs them.

    start_number: first segment number (continue across restarts). fps_hint: the expected frame rate, only used
    for the encoder's level and rate-control budget; timestamps always come from the wall clock.
    h264_out: also write the same encoded video as an Annex-B H.264 byte stream to this ffmpeg URL (e.g.
    "pipe:1") through the tee muxer, for the RTSP server: one encode, two outputs. None: HLS only.
    exact_durations: give HLS packets their real durations (HLS_DURATION_BSF); False for an ffmpeg whose setts
    cannot see the next packet (ffmpeg_binary.has_lookahead_setts).
    live_out: also write it as fragmented MP4, one fragment per frame, to this ffmpeg URL (e.g. "pipe:5") for
    the live path (outputs/live). None: no live output.
    """
    if width < 2 or height < 2 or width % 2 or height % 2:
        raise ValueError(f"frame size {width}x{height} cannot be encoded: 4:2:0 needs even sizes of at least 2")
    if fps_hint <= 0:
        raise ValueError(f"fps hint must be above zero, not {fps_hint}")
    return [
        ffmpeg,
        *_global_args(encoder),
        *_input_args(width, height, _input_rate(encoder, fps_hint)),
        "-an",
        *_filter_args(width, height, encoder),
        *_codec_args(encoder, fps_hint),
        *_keyframe_args(hls),
        *(_hls_args(out_dir, hls, start_number, exact_durations) if h264_out is None and live_out is None
          else _tee_args(out_dir, hls, start_number, h264_out, exact_durations, live_out)),
    ]


def _global_args(encoder: EncoderConfig) -> list[str]:
    # -nostdin only stops ffmpeg reading keyboard commands from stdin ('q', '?'): raw frames on a pipe would
    # otherwise be taken as keystrokes; pipe:0 is still read as the input.
    args = ["-hide_banner", "-loglevel", "warning", "-nostats", "-nostdin"]
    if encoder.codec == "h264_vaapi":
        args += ["-vaapi_device", VAAPI_DEVICE]
    return args


def _input_rate(encoder: EncoderConfig, fps_hint: float) -> str:
    # ffmpeg hands the declared input rate to the encoder. libx264 takes the real rate from -x264-params, so it
    # can keep millisecond timestamps; the hardware encoders budget bits per frame from it (1000 would starve
    # them), so they get the hint and ffmpeg's coarser ticks.
    return str(_CLOCK_RATE) if encoder.codec == "libx264" else f"{fps_hint:g}"


def _input_args(width: int, height: int, rate: str) -> list[str]:
    # -fpsprobesize 0: take the declared rate instead of guessing one from the first (bursty) frames.
    return [
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{width}x{height}",
        "-framerate", rate, "-use_wallclock_as_timestamps", "1", "-fpsprobesize", "0",
        "-i", "pipe:0",
    ]


def _filter_args(width: int, height: int, encoder: EncoderConfig) -> list[str]:
    if encoder.codec == "h264_vaapi":
        return ["-vf", "format=nv12,hwupload"]
    return []


def _codec_args(encoder: EncoderConfig, fps_hint: float) -> list[str]:
    # passthrough: encode each frame with its own wall-clock timestamp; no duplicating or dropping to a rate.
    # A 90 kHz encoder clock keeps close frames on distinct ticks (coarser ones give non-monotonic DTS).
    args = ["-c:v", encoder.codec, "-fps_mode", "passthrough", "-enc_time_base", "1/90000"]
    bitrate = parse_bitrate(encoder.bitrate) if encoder.bitrate is not None else None
    if encoder.codec == "libx264":
        # fps: the declared 1000 would make x264 signal H.264 level 6 (phones refuse it) and misjudge budgets.
        args += ["-preset", encoder.preset, "-tune", "zerolatency", "-pix_fmt", "yuv420p"]
        args += ["-threads", str(encoder.threads)]  # one thread: no slice-sync overhead, ~15 % less CPU at 720p
        args += ["-x264-params", f"fps={fps_hint:g}"]
        args += _rate_args(bitrate) if bitrate is not None else ["-crf", str(encoder.crf)]
    elif encoder.codec == "h264_v4l2m2m":
        args += ["-pix_fmt", "yuv420p", *_rate_args(bitrate or V4L2M2M_DEFAULT_BITRATE)]
    elif encoder.codec == "h264_vaapi":
        args += _rate_args(bitrate) if bitrate is not None else ["-qp", str(encoder.crf)]
    else:
        args += ["-pix_fmt", "yuv420p", *(_rate_args(bitrate) if bitrate is not None else [])]
    return args


def _rate_args(bitrate: int) -> list[str]:
    # A capped rate with a 2 s buffer: a busy scene cannot burst a segment far beyond the link's capacity.
    return ["-b:v", str(bitrate), "-maxrate", str(bitrate), "-bufsize", str(2 * bitrate)]


def _keyframe_args(hls: HlsConfig) -> list[str]:
    # The HLS muxer can only cut at a keyframe; forcing one every segment_seconds of timestamp makes each
    # segment start with one whatever the (variable) frame rate.
    return ["-force_key_frames", f"expr:gte(t,n_forced*{hls.segment_seconds:g})"]


def _hls_options(out_dir: Path, hls: HlsConfig, start_number: int) -> list[tuple[str, str]]:
    # delete_segments: bounded disk use; temp_file: playlist and segments appear by rename, never half-written;
    # omit_endlist: a stopped daemon leaves a live playlist so players keep polling instead of ending the stream;
    # independent_segments: each segment decodes on its own (they all start with a keyframe).
    flags = "delete_segments+temp_file+independent_segments+omit_endlist+program_date_time"
    return [
        ("hls_time", f"{hls.segment_seconds:g}"),
        ("hls_list_size", str(hls.playlist_size)),
        ("hls_delete_threshold", "1"),
        ("hls_flags", flags),
        ("hls_segment_type", "fmp4"),
        ("hls_fmp4_init_filename", INIT),
        ("hls_segment_filename", str(out_dir / SEGMENT_PATTERN)),
        ("start_number", str(start_number)),
    ]


def _hls_args(out_dir: Path, hls: HlsConfig, start_number: int, exact_durations: bool) -> list[str]:
    options = [arg for key, value in _hls_options(out_dir, hls, start_number) for arg in (f"-{key}", value)]
    bsf = ["-bsf:v", HLS_DURATION_BSF] if exact_durations else []
    return [*bsf, "-f", "hls", *options, str(playlist_path(out_dir))]


def _tee_args(out_dir: Path, hls: HlsConfig, start_number: int, h264_out: str | None,
              exact_durations: bool, live_out: str | None = None) -> list[str]:
    """The tee muxer: the same packets go to the HLS muxer and to a raw H.264 byte stream.

    onfail=ignore on the H.264 side: if its reader goes away, ffmpeg carries on writing HLS. The HLS side keeps
    the default (abort), so an HLS failure still ends ffmpeg and the encoder restarts it as before.
    The duration filter is on the HLS slave only: the H.264 and live sides get each packet without its delay.
    """
    bsf = [("bsfs/v", HLS_DURATION_BSF)] if exact_durations else []
    hls_options = ":".join(f"{key}={_tee_value(value)}"
                           for key, value in [("f", "hls"), *bsf, *_hls_options(out_dir, hls, start_number)])
    slaves = [f"[{hls_options}]{playlist_path(out_dir)}"]
    if h264_out is not None:
        slaves.append(f"[f=h264:onfail=ignore]{h264_out}")
    if live_out is not None:
        slaves.append(_live_slave(live_out))
    return ["-map", "0:v", "-f", "tee", "|".join(_tee_slave(slave) for slave in slaves)]


def _tee_value(value: str) -> str:
    """Escape an option value inside a tee slave's [...] (split at ':' and ']', backslash escapes)."""
    return "".join("\\" + char if char in "\\':]" else char for char in value)


def _tee_slave(slave: str) -> str:
    """Escape one slave spec for the tee's list (split at '|'; leading/trailing blanks would be trimmed)."""
    return "".join("\\" + char if char in "\\'|" or char.isspace() else char for char in slave)


def _live_slave(url: str) -> str:
    """Fragmented MP4 for the live path: ftyp+moov, then one moof+mdat per frame, each with a prft box (the wall
    clock when it was muxed, so the page can show its delay). delay_moov: the moov waits for the first frame,
    whose in-band SPS/PPS it needs (the tee gives the encoder no global header; an empty avcC decodes nothing).
    A fragment is written when the next frame arrives (its duration is known then): one frame interval of
    delay, the least the muxer allows. onfail=ignore: a live reader that goes away never stops HLS."""
    flags = "empty_moov+delay_moov+default_base_moof+frag_every_frame+skip_trailer"
    return f"[f=mp4:movflags={flags}:write_prft=wallclock:onfail=ignore]{url}"
