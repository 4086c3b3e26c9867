"""Clips for the source matrix (tests/e2e/test_source_matrix.py): a known face moving on a plain background, made
with ffmpeg from the shared photos in the codecs, sizes and rates real cameras send, as MPEG-TS for the RTSP test
camera (tests/e2e/rtsp_camera.py --clip). A few seconds are encoded once and repeated without re-encoding (4K
H.265 is slow to encode on a small machine); faults (a timestamp reset, a size change, corrupted NAL units) are made
on the encoded bytes, as a camera would send them.
"""

from __future__ import annotations

import random
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

# No -tune zerolatency: its sliced threads give two slices per frame, and GStreamer's H.264 payloader (config-interval
# -1) repeats SPS and PPS before each slice of a keyframe, which ffmpeg's parser takes for a new picture: every
# keyframe decoded as two frames (fps_in 4 % high on the VFR clip) and errors concealed in the first of them.
ENCODERS = {"h264": ["-c:v", "libx264", "-preset", "ultrafast"],
            "h265": ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"]}
TS_PACKET = 188


@dataclass(frozen=True)
class Clip:
    path: Path
    codec: str  # h264 or h265
    size: tuple[int, int]
    rate: float  # frames per second on average, as ffprobe counts them


def encode(ffmpeg: str, photo: Path, out: Path, *, codec: str, size: tuple[int, int], fps: int, seconds: float,
           vfr: bool = False, repeat: int = 0) -> Path:
    """`seconds` of the face walking right, `repeat` more times copied after it (timestamps continue). vfr: every
    second pair of seconds at a third of the rate, like a camera in the dark."""
    width, height = size
    face = max(64, height * 340 // 720)  # the photo's head and shoulders, scaled with the frame
    graph = (f"[1:v]crop=iw:ih*0.55:0:0,scale=-2:{face},format=rgb24[a];"
             f"[0:v][a]overlay=x='{width // 10}+t*{width // 40}':y={height // 5}:shortest=1")
    if vfr:
        graph += ",select='lt(mod(t\\,4)\\,2)+not(mod(n\\,3))'"
    graph += ",format=yuv420p[v]"
    short = out.with_suffix(".short.ts")
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"color=c=0x405060:s={width}x{height}:r={fps}:d={seconds}", "-loop", "1", "-i", str(photo),
                    "-filter_complex", graph, "-map", "[v]", "-t", f"{seconds:g}", "-fps_mode", "vfr" if vfr else "cfr",
                    *ENCODERS[codec], "-g", str(fps), "-bf", "0", "-f", "mpegts", str(short)],
                   check=True, timeout=600, capture_output=True)
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-stream_loop", str(repeat), "-i", str(short), "-c", "copy",
                    "-f", "mpegts", str(out)], check=True, timeout=120, capture_output=True)
    short.unlink()
    return out


def joined(out: Path, *parts: Path) -> Path:
    """The parts' bytes one after the other: each part's timestamps start again where the next begins (a camera
    that rebooted, or whose size was changed, mid-stream)."""
    with out.open("wb") as sink:
        for part in parts:
            sink.write(part.read_bytes())
    return out


def numbered(ffmpeg: str, out: Path, *, codec: str, size: tuple[int, int], fps: int, seconds: float, u: int,
             step: int) -> Path:
    """Flat frames whose brightness counts them (16 + step * n) and whose blue-difference (u) names the clip: each
    decoded frame says which clip and which frame of it it is."""
    width, height = size
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"color=c=black:s={width}x{height}:r={fps}:d={seconds},format=yuv420p,"
                    f"geq=lum='16+{step}*N':cb={u}:cr=128", *ENCODERS[codec], "-g", str(fps), "-bf", "0",
                    "-f", "mpegts", str(out)], check=True, timeout=300, capture_output=True)
    return out


def concatenated(ffmpeg: str, out: Path, *parts: Path) -> Path:
    """The parts as one recording: ffmpeg's concat demuxer runs each part's timestamps on from the last (joined():
    they start again)."""
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{part}'\n" for part in parts))
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    "-f", "mpegts", str(out)], check=True, timeout=120, capture_output=True)
    listing.unlink()
    return out


def corrupted(source: Path, out: Path, *, every: int = 150, seed: int = 25) -> Path:
    """The clip with bytes of the payload of one TS packet in `every` overwritten (the 4-byte headers kept, so the
    demuxer still finds the video): broken slices and NAL units, as after lost or damaged packets."""
    data = bytearray(source.read_bytes())
    chance = random.Random(seed)
    for start in range(0, len(data) - TS_PACKET, TS_PACKET * every):
        for _ in range(24):
            data[start + chance.randrange(8, TS_PACKET)] = chance.randrange(256)
    out.write_bytes(bytes(data))
    return out


def probe(ffmpeg: str, path: Path) -> Clip:
    """The clip's codec, size and average frame rate (frames / duration, as a player counts them), read by ffmpeg
    itself (the bundled one comes without ffprobe)."""
    result = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-c", "copy",
                             "-f", "null", "-"], check=True, timeout=120, capture_output=True, text=True)
    log = result.stderr
    stream = re.search(r"Stream #0:\d+\S*: Video: (\w+).*?, (\d+)x(\d+)", log)
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+)", log)
    frames = re.findall(r"frame=\s*(\d+)", log)
    if stream is None or duration is None or not frames:
        raise ValueError(f"cannot read {path}: {log[-500:]}")
    hours, minutes, seconds = duration.groups()
    codec = {"hevc": "h265"}.get(stream[1], stream[1])
    return Clip(path, codec, (int(stream[2]), int(stream[3])),
                int(frames[-1]) / (int(hours) * 3600 + int(minutes) * 60 + float(seconds)))
