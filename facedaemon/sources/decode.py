"""Video files and RTSP cameras decoded by an ffmpeg child straight to I420 frames, read whole from a socket.

OpenCV's reader hands out BGR only, which the encoder had to turn back into I420: two full-frame conversions per
frame. ffmpeg gives the decoder's own planes (1080p clip: 5.4-5.7 ms a frame in the main process and its child
against 7.8-8.2 ms for OpenCV's read plus the conversion back). The frames come over a Unix socket read with
MSG_WAITALL: one blocking call per frame that releases the GIL once, so a busy daemon delays it once, not at every
step of a decode (PyAV, tried first, made 11 frames/s of a 720p clip next to two busy Python threads; this 79).
A camera's URL reaches ffmpeg inside a concat list on an anonymous memory file, never on its command line, so a
password does not show in the process list.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from facedaemon.children.process import ManagedProcess
from facedaemon.sources.base import SourceError, SourceResized
from facedaemon.sources.buffers import FrameBuffers

log = logging.getLogger(__name__)

OPEN_TIMEOUT = 15.0  # seconds for ffmpeg to connect and report the stream (its own RTSP timeout is 10 s)
# No frame for this long from a camera that was streaming: it hung. Inside the 15 s the status allows.
READ_TIMEOUT = 5.0
# Room for two 1080p frames, so ffmpeg decodes the next one while we take this one; the kernel caps it at
# net.core.wmem_max (4 MiB here, 208 KiB on a stock Pi: then ffmpeg waits mid-frame, which only costs wake-ups).
SOCKET_BUFFER = 8 << 20
# TCP (the default) survives lossy Wi-Fi better than UDP; some cameras only speak UDP (camera.rtsp_transport).
# FFmpeg's default 5 s stream analysis made every (re)connect take ~3 s against a 15 fps H.264 camera; 1 s is plenty
# to read the SPS and a keyframe, and halves the reconnect time.
RTSP_TRANSPORTS = ("tcp", "udp")
RTSP_OPTIONS = (("analyzeduration", "1000000"), ("timeout", "10000000"))
# Over UDP a 4K keyframe is hundreds of packets at once: the kernel's default receive buffer (~200 KiB) drops part of
# it before ffmpeg reads it. Packets arriving out of order are held back this many, then given up as lost.
UDP_OPTIONS = (("buffer_size", str(4 << 20)), ("reorder_queue_size", "64"))
MAX_REPORT_LINES = 500  # ffmpeg's report before the stream is described is ~20 lines; a flood of warnings is cut
RTSP_PROTOCOLS = "file,fd,rtsp,rtsps,rtp,srtp,tcp,udp,tls,crypto,http,https,httpproxy"


@dataclass(frozen=True)
class StreamInfo:
    rate: float | None  # the input's frame rate, when it says
    size: tuple[int, int]  # (width, height) of the frames ffmpeg writes
    codec: str | None = None  # the input's video codec as ffmpeg names it (h264, hevc, ...)

    def text(self) -> str:
        """For the log: 'hevc 3840x2160, 15 fps'."""
        rate = f", {self.rate:g} fps" if self.rate else ""
        return f"{self.codec or 'video'} {self.size[0]}x{self.size[1]}{rate}"


_STREAM = re.compile(r"Stream #\d+:\d+.*: Video: .*?, (\d{1,5})x(\d{1,5})\b")
_CODEC = re.compile(r": Video: (\w+)")
_RATE = re.compile(r", ([\d.]+) (?:fps|tbr)\b")
# The crop filter logs its size each time ffmpeg (re)configures the filters (at -loglevel verbose): after a
# mid-stream resolution change it shows the new size while ffmpeg scales the frames back to the first one.
# What ffmpeg says about a damaged stream once it plays: broken slices (packet loss, a faulty encoder) and
# timestamps that jump back (a camera that restarted its clock). Counted, never logged line by line.
_BROKEN = re.compile(r"error while decoding|concealing \d+|corrupt decoded frame|Invalid NAL unit|"
                     r"missing picture in access unit|Could not find ref|non-existing PPS|decode_slice_header error|"
                     r"Error splitting the input into NAL units|Invalid data found when processing input")
_JUMPED = re.compile(r"non monotonically increasing dts|Non-monotonous DTS|DTS discontinuity")


@dataclass
class Damage:
    """How much of the stream came damaged since it opened (ffmpeg's own reports), and its last such line."""

    broken: int = 0  # reports of broken slices or frames (ffmpeg conceals them: the frames still come)
    jumped: int = 0  # timestamps that went back or jumped
    last: str = ""

    def note(self, line: str) -> bool:
        if _BROKEN.search(line):
            self.broken += 1
        elif _JUMPED.search(line):
            self.jumped += 1
        else:
            return False
        self.last = line.strip()
        return True


_CROPPED = re.compile(r"\[Parsed_crop_0 @ [^\]]*\] w:\d+ h:\d+ .*-> w:(\d{1,5}) h:(\d{1,5})\b")
# A file's frames, one line each (frame_info): their time and their size before ffmpeg scales them to the first size.
# The filter's time base comes first (again after each reconfiguration); the integer pts keeps a long file's times
# exact (pts_time has 6 significant digits: 0.1 s at 3 h).
_SHOWN = re.compile(r"\[Parsed_showinfo_\d+ @ [^\]]*\] n:\s*\d+ pts:\s*(-?\d+|NOPTS)\b.*? s:(\d{1,5})x(\d{1,5})\b")
_TIME_BASE = re.compile(r"\[Parsed_showinfo_\d+ @ [^\]]*\] config in time_base: (\d+)/(\d+)")


def parse_stream_info(lines: list[str]) -> StreamInfo | None:
    """From ffmpeg's log: the input video's rate and the output's size; None until the output is described."""
    rate: float | None = None
    codec: str | None = None
    output = False
    for line in lines:
        if line.startswith("Output #"):
            output = True
            continue
        match = _STREAM.search(line)
        if match is None:
            continue
        if output:
            return StreamInfo(rate, (int(match.group(1)), int(match.group(2))), codec)
        named = _CODEC.search(line)
        if codec is None and named is not None:
            codec = named.group(1)
        found = _RATE.search(line)
        if rate is None and found is not None and float(found.group(1)) > 0:
            rate = float(found.group(1))
    return None


def cropped_size(line: str) -> tuple[int, int] | None:
    """The frame size in one of ffmpeg's filter (re)configuration lines; None for any other line."""
    match = _CROPPED.search(line)
    return (int(match.group(1)), int(match.group(2))) if match else None


def shown_frame(line: str) -> tuple[int | None, tuple[int, int]] | None:
    """(pts in the filter's time base or None, size before scaling) from showinfo's line for a frame; None for any
    other line."""
    match = _SHOWN.search(line)
    if match is None:
        return None
    pts = None if match.group(1) == "NOPTS" else int(match.group(1))
    return pts, (int(match.group(2)), int(match.group(3)))


def shown_time_base(line: str) -> Fraction | None:
    match = _TIME_BASE.search(line)
    return Fraction(int(match.group(1)), int(match.group(2))) if match and int(match.group(2)) else None


def decode_args(ffmpeg: str, source: list[str], *, threads: int | None = None, frame_info: bool = False,
                size: tuple[int, int] | None = None) -> list[str]:
    """argv: `source` (input options and -i) decoded to yuv420p frames of even size on stdout, as they come.
    verbose: ffmpeg then says when the filters are reconfigured for a new frame size (cropped_size); it adds a
    few lines at start and none per frame. frame_info: and one line per frame with its time and size (showinfo
    without checksums: the frame is not read again). size: the frames written at this size (a file played on from a
    size change: ffmpeg 5.1 sizes its output by the first frame decoded, one from before the seek point that it then
    drops, not by the first it keeps)."""
    args = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "verbose"]
    if threads:
        args += ["-threads", str(threads)]
    # 4:2:0 needs even sizes: an odd last row/column goes
    chain = ["crop=trunc(iw/2)*2:trunc(ih/2)*2", *(["showinfo=checksum=0"] if frame_info else []),
             *([f"scale={size[0]}:{size[1]}"] if size else [])]
    return [*args, *source, "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", ",".join(chain),
            "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"]


def file_input(path: str, *, loop: bool, start: float = 0.0) -> list[str]:
    """From the beginning (looped by ffmpeg itself: no gap at the seam), or from `start` seconds in (after a size
    change) to the end: seeking before -i decodes from the keyframe before `start` and drops what comes before it."""
    if start > 0:
        return ["-ss", f"{start:.6f}", "-i", path]
    return [*(["-stream_loop", "-1"] if loop else []), "-i", path]


def resume_point(start: float, at: float | None, rate: float) -> float | None:
    """Where to seek to play on from a size change found `at` s into a run that began `start` s into the file: half
    a frame before the new size's first frame, so that frame comes first and the one before it not again. None when
    that is no later than `start` (the file's time went back at the change: seeking there would play the same part
    again)."""
    if at is None or rate <= 0:
        return None
    point = start + at - 0.5 / rate
    return point if point > start else None


def rtsp_options(transport: str = "tcp") -> list[tuple[str, str]]:
    """The RTSP demuxer's options for a camera reached over `transport` (tcp or udp)."""
    if transport not in RTSP_TRANSPORTS:
        raise ValueError(f"rtsp_transport must be tcp or udp, not {transport!r}")
    return [("rtsp_transport", transport), *RTSP_OPTIONS, *(UDP_OPTIONS if transport == "udp" else ())]


def concat_list(uri: str, transport: str = "tcp") -> str:
    """An ffconcat list naming the camera, with the RTSP options for opening it."""
    quoted = uri.replace("'", "'\\''")
    options = "".join(f"option {key} {value}\n" for key, value in rtsp_options(transport))
    return f"ffconcat version 1.0\nfile '{quoted}'\n{options}"


def rtsp_input(list_fd: int) -> list[str]:
    return ["-f", "concat", "-safe", "0", "-protocol_whitelist", RTSP_PROTOCOLS, "-i", f"/dev/fd/{list_fd}"]


class Decoded:
    """What a source read through a Decoder (self._decoder, None while closed) tells its owner about the stream."""

    _decoder: Decoder | None

    @property
    def details(self) -> str | None:
        """What the stream is, once open: 'hevc 3840x2160, 15 fps'."""
        info = self._decoder.info if self._decoder is not None else None
        return info.text() if info is not None else None

    @property
    def damage(self) -> Damage | None:
        """What ffmpeg reported broken in the stream since it was opened."""
        return self._decoder.damage if self._decoder is not None else None


class Decoder:
    """One ffmpeg run: open() waits for the stream's description, next() returns each frame as a pooled I420 array."""

    def __init__(self, ffmpeg: str, source: list[str], *, description: str, threads: int | None = None,
                 pass_fds: tuple[int, ...] = (), read_timeout: float = READ_TIMEOUT, frame_info: bool = False,
                 size: tuple[int, int] | None = None) -> None:
        self.argv = decode_args(ffmpeg, source, threads=threads, frame_info=frame_info, size=size)
        # A file: each frame's own size and time, so a size change is found at its very frame (the frames before it
        # all given out, none scaled to the old size) and the file can be played on from there.
        self.frame_info = frame_info
        self.position: float | None = None  # s from the run's start of the last frame next() gave (frame_info)
        self._shown: deque[tuple[float | None, tuple[int, int]]] = deque()
        self._shown_ready = threading.Condition()
        self._time_base = Fraction(1, 90000)
        self.description = description
        self.pass_fds = pass_fds
        self.read_timeout = read_timeout
        self.info: StreamInfo | None = None
        self.resized: tuple[int, int] | None = None  # the new size, once the stream changed size
        self.damage = Damage()
        self._lines: list[str] = []
        self._described = threading.Event()
        self._proc: ManagedProcess | None = None
        self._socket: socket.socket | None = None
        self._buffers = FrameBuffers()

    def open(self, timeout: float = OPEN_TIMEOUT) -> StreamInfo:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
            theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            self._proc = ManagedProcess(self.argv, name="ffmpeg-decode", stdout=theirs.fileno(),
                                        pass_fds=self.pass_fds, on_line=self._on_line)
        except OSError as exc:
            ours.close()
            raise SourceError(f"cannot open {self.description}: cannot run ffmpeg ({exc.strerror})") from None
        finally:
            theirs.close()
        self._socket = ours
        deadline = time.monotonic() + timeout
        while not self._described.wait(0.05):
            # Ended only once its report is read to the end: a short file is decoded whole and ffmpeg gone before
            # a starved reader thread reaches the lines that describe it.
            ended = not self._proc.alive() and self._proc.drained(0.0)
            if ended or time.monotonic() > deadline:
                why = self._why() if not self._proc.alive() else f"no stream after {timeout:.0f} s"
                self.close()
                raise SourceError(f"cannot open {self.description}: {why}")
        assert self.info is not None
        # A blocking socket with a receive timeout: recv(MSG_WAITALL) waits in C for a whole frame, or times out.
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(self.read_timeout))
        return self.info

    def next(self) -> np.ndarray | None:
        """The next frame; None when the input ended cleanly (a file); SourceError on failure or silence."""
        if self._socket is None or self.info is None:
            raise SourceError("not open")
        if self.resized is not None and not self.frame_info:
            raise SourceResized(self.description, self.info.size, self.resized)
        width, height = self.info.size
        image = self._buffers.take((height * 3 // 2, width))  # reused once nobody holds it (buffers.py)
        view, got = memoryview(image).cast("B"), 0
        try:
            # A signal landing on this thread cuts MSG_WAITALL short with part of the frame read: read on.
            while 0 <= got < image.nbytes and (part := self._socket.recv_into(view[got:], 0, socket.MSG_WAITALL)):
                got += part
        except (BlockingIOError, TimeoutError):
            got = -1
        except OSError as exc:
            raise SourceError(f"no frame from {self.description}: {exc.strerror}") from None
        if got == image.nbytes:
            return self._checked(image) if self.frame_info else image
        return self._short_read(got)

    def _checked(self, image: np.ndarray) -> np.ndarray:
        """The frame, if it is as large as it was decoded; SourceResized at the first frame of a new size (ffmpeg
        scaled it to the first size)."""
        assert self.info is not None
        with self._shown_ready:
            # ffmpeg says it before it writes the frame; the thread reading its report may lag behind.
            if not self._shown_ready.wait_for(lambda: self._shown, self.read_timeout):
                raise SourceError(f"{self.description}: ffmpeg gave a frame without its report")
            at, size = self._shown.popleft()
        if size != self.info.size:
            raise SourceResized(self.description, self.info.size, size, at=at)
        self.position = at
        return image

    def _short_read(self, got: int) -> None:
        assert self._proc is not None
        code = self._proc.wait(1.0) if got >= 0 else None
        if code is None:  # still running: nothing (or half a frame) within the read timeout
            raise SourceError(f"no frame from {self.description} for {self.read_timeout:.0f} s (camera hung?)")
        if code == 0 and got == 0:
            # It ended; a size change it reported last may still be unread when its frames have all been read.
            self._proc.drained(1.0)
            if self.resized is not None and not self.frame_info:
                raise SourceResized(self.description, self.info.size, self.resized)
            return None
        raise SourceError(f"{self.description}: ffmpeg stopped decoding ({self._why()})")

    def close(self) -> None:
        proc, self._proc = self._proc, None
        sock, self._socket = self._socket, None
        if sock is not None and proc is not None:
            # ffmpeg blocked writing into a full socket sits on SIGTERM until the SIGKILL a second later (every
            # reopen of a file or camera mid-stream took 1.0 s): its write fails now, and it exits at once.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if proc is not None:
            proc.stop(timeout=1.0)
        if sock is not None:
            sock.close()

    def _on_line(self, line: str) -> None:
        if self.frame_info and self._frame_line(line):
            return
        if self._described.is_set():
            if self.damage.note(line):
                return
            size = cropped_size(line)
            if size is not None and self.info is not None and size != self.info.size:
                self.resized = size
            return
        if len(self._lines) >= MAX_REPORT_LINES:
            return
        self._lines.append(line)
        info = parse_stream_info(self._lines)
        if info is not None:
            self.info = info
            self._described.set()

    def _frame_line(self, line: str) -> bool:
        shown = shown_frame(line)
        if shown is None:
            base = shown_time_base(line)
            if base is not None:
                self._time_base = base
            return False
        pts, size = shown
        with self._shown_ready:
            self._shown.append((None if pts is None else float(pts * self._time_base), size))
            self._shown_ready.notify()
        return True

    def _why(self) -> str:
        """ffmpeg's last words (credentials masked by ManagedProcess)."""
        assert self._proc is not None
        if not self._proc.alive():
            self._proc.drained(1.0)
        return last_words(self._proc.stderr_tail(20).splitlines()) or f"ffmpeg exited with code {self._proc.returncode}"


# The summary ffmpeg prints as it exits (more of it at -loglevel verbose; ffmpeg 7+ prefixes it with [in#0/..] or
# [out#0/..]): never the reason it stopped.
_SUMMARY = re.compile(r"^(\[(AVIOContext|in#|out#)[^\]]*\] ?)?\s*(Statistics:|Input (file|stream) #|"
                      r"Output (file|stream) #|Total:|video:\d|frame=|No more output streams|"
                      r"Exiting (normally|with exit code)|Last message repeated)")


# A file's report of each frame (frame_info): what it decoded, never why it stopped.
_FRAME_REPORT = re.compile(r"^\[Parsed_showinfo_\d+ @ ")


def last_words(lines: list[str]) -> str | None:
    """The last line of ffmpeg's stderr that says something, past its exit summary and its frame reports; None if
    there is none."""
    said = [line.strip() for line in lines
            if line.strip() and not _SUMMARY.match(line.strip()) and not _FRAME_REPORT.match(line.strip())]
    return said[-1] if said else None


def memory_file(text: str) -> int:
    """An anonymous file holding `text`, for a child to read through /dev/fd (nothing on disk or in argv)."""
    fd = os.memfd_create("facedaemon-source", 0)  # inheritable only through pass_fds
    os.write(fd, text.encode())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _timeval(seconds: float) -> bytes:
    return struct.pack("ll", int(seconds), int((seconds % 1) * 1_000_000))
