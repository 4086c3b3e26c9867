"""Owner of one camera's ffmpeg: raw frames in through a pipe, HLS out; never lets ffmpeg block the caller."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from facedaemon import yuv
from facedaemon.children.backoff import Backoff
from facedaemon.children.process import ManagedProcess
from facedaemon.children.restarter import Restarter
from facedaemon.config.models import EncoderConfig, HlsConfig
from facedaemon.outputs.ffmpeg_args import DEFAULT_FPS_HINT, build_hls_args
from facedaemon.outputs.ffmpeg_binary import has_lookahead_setts
from facedaemon.runtime.hls import prepare_hls_dir

log = logging.getLogger(__name__)

STALL_SECONDS = 2.0  # longest a write may wait for ffmpeg before it counts as hung
TAIL_IN_LOG = 5  # stderr lines quoted when ffmpeg dies
H264_PIPE_SIZE = 1 << 20  # room for a large keyframe, so ffmpeg's write to the H.264 pipe rarely waits
# Raw frames go to ffmpeg over a socket, not a pipe: a pipe holds at most 1 MiB unprivileged (fs.pipe-max-size), less
# than one 720p frame (1.4 MB), so every frame took two writes with a wait for ffmpeg between them (a 1080p frame,
# four). A socket's buffer may be net.core.wmem_max (4 MiB here; 208 KiB on a stock Pi, where ffmpeg is woken
# mid-frame as before): room for two frames, so a frame is one write and the camera's thread never waits.
INPUT_FRAMES_BUFFERED = 2
# Restarting ffmpeg is cheap and HLS viewers stall while it is down: a short cap keeps every gap a few seconds,
# even when ffmpeg is killed again soon after each restart (the default 10 s cap reached 8-11 s gaps by the 5th).
RESTART_CAP = 2.0


class H264Sink(Protocol):
    """Takes the encoded H.264 (Annex-B) that ffmpeg also writes, e.g. outputs.rtsp.RtspFeed."""

    def attach(self, fd: int) -> None:
        """Own fd, the read end of a new ffmpeg's H.264 pipe; must read it continuously until end of file."""
        ...


class Encoder:
    """Feeds I420 frames to ffmpeg, starting it on the first frame and restarting it when it dies, hangs or the
    frame size changes. Use from one thread; stop() may come from another."""

    def __init__(
        self,
        camera: str,
        ffmpeg: str,
        out_dir: Path,
        hls: HlsConfig,
        encoder: EncoderConfig,
        *,
        on_restart: Callable[[], None] | None = None,
        fps_hint: float = DEFAULT_FPS_HINT,
        stall_seconds: float = STALL_SECONDS,
        backoff: Backoff | None = None,
        h264_sink: H264Sink | None = None,
        live_sink: H264Sink | None = None,
    ) -> None:
        self.camera = camera
        self._ffmpeg = ffmpeg
        self._out_dir = out_dir
        self._hls = hls
        self._encoder = encoder
        self._fps_hint = fps_hint
        self._stall_seconds = stall_seconds
        self._restarter = Restarter("encoder", backoff=backoff or Backoff(first=0.5, cap=RESTART_CAP),
                                    on_restart=(lambda _part: on_restart()) if on_restart is not None else None)
        self._h264_sink = h264_sink  # a second output of the same encode (RTSP): no second encoder
        self._live_sink = live_sink  # a third: fragmented MP4 per frame for the live path (outputs/live)
        self._lock = threading.Lock()
        self._proc: ManagedProcess | None = None
        self._input: socket.socket | None = None  # our end of ffmpeg's stdin (a socket, see INPUT_FRAMES_BUFFERED)
        self._size: tuple[int, int] | None = None
        self._closed = False
        self._warned_durations = False

    @property
    def restarts(self) -> int:
        return self._restarter.restarts

    @property
    def last_error(self) -> str | None:
        """Why the last ffmpeg ended badly (masked), for status pages."""
        return self._restarter.last_error

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.alive() else None

    def write(self, frame: np.ndarray) -> bool:
        """Hand one I420 frame (see yuv.py) to ffmpeg as it is; False if it was dropped (backoff, restart,
        stopped)."""
        if not yuv.is_i420(frame):
            raise ValueError(f"camera {self.camera}: encoder needs I420 frames (uint8, H*3/2 x W, even sizes), got "
                             f"{frame.dtype} {frame.shape}")
        with self._lock:
            if self._closed:
                return False
            size = yuv.size(frame)
            if self._proc is not None and size != self._size:
                log.info("camera %s: frame size changed %dx%d -> %dx%d, restarting ffmpeg",
                         self.camera, *(self._size or (0, 0)), *size)
                self._end_process(graceful=True)
                self._restarter.retry_now()  # not a failure: start again at once
            if self._proc is not None and not self._proc.alive():
                self._failed(f"ffmpeg exited with code {self._proc.returncode}")
                return False
            if self._proc is None and not self._start(size):
                return False
            return self._send(frame)

    def stop(self, timeout: float = 3.0) -> None:
        """Close ffmpeg's input so it finishes the current segment, then make sure it is gone. Final."""
        with self._lock:
            self._closed = True
            if self._proc is not None:
                self._end_process(graceful=True, timeout=timeout)

    # -- process lifecycle -------------------------------------------------------------------------------------

    def _start(self, size: tuple[int, int]) -> bool:
        if self._restarter.waiting():
            return False  # backing off after a failure: drop the frame
        width, height = size
        h264_read, h264_write = os.pipe() if self._h264_sink is not None else (None, None)
        live_read, live_write = os.pipe() if self._live_sink is not None else (None, None)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            start_number = prepare_hls_dir(self._out_dir)
            argv = build_hls_args(self._ffmpeg, width=width, height=height, out_dir=self._out_dir,
                                  hls=self._hls, encoder=self._encoder, start_number=start_number,
                                  fps_hint=self._fps_hint, h264_out=None if h264_write is None else "pipe:1",
                                  exact_durations=self._exact_durations(),
                                  live_out=None if live_write is None else f"pipe:{live_write}")
            for fd in (h264_write, live_write):
                if fd is not None:
                    _grow_pipe(fd, H264_PIPE_SIZE)
            # The kernel doubles what is asked (bookkeeping), and 64 KiB pieces need little of it: ask half.
            _grow_socket(ours, theirs, INPUT_FRAMES_BUFFERED * width * height * 3 // 2 // 2)
            proc = ManagedProcess(argv, name=f"ffmpeg[{self.camera}]", stdin=theirs.fileno(),
                                  stdout=subprocess.DEVNULL if h264_write is None else h264_write,
                                  pass_fds=() if live_write is None else (live_write,))
        except (OSError, ValueError) as exc:
            _close(h264_read, h264_write, live_read, live_write)
            ours.close()
            self._failed(f"cannot start ffmpeg: {exc}")
            return False
        finally:
            theirs.close()  # ffmpeg's now; ours open would keep its stdin open after our end closes
        # ffmpeg holds the write ends now; ours would hide its exit from the readers
        for sink, read, write in ((self._h264_sink, h264_read, h264_write), (self._live_sink, live_read, live_write)):
            if sink is not None and read is not None:
                _close(write)
                sink.attach(read)
        self._proc, self._size, self._input = proc, size, ours
        ours.setblocking(False)
        self._restarter.started()
        log.info("camera %s: ffmpeg started (pid %d, %dx%d, %s, first segment %d)",
                 self.camera, proc.pid, width, height, self._encoder.codec, start_number)
        return True

    def _exact_durations(self) -> bool:
        if has_lookahead_setts(self._ffmpeg):
            return True
        if not self._warned_durations:
            self._warned_durations = True
            log.warning("camera %s: %s has no setts filter that can see the next packet (a newer FFmpeg has "
                        "one): each HLS segment boundary keeps a one-frame stutter", self.camera, self._ffmpeg)
        return False

    def _failed(self, why: str) -> None:
        """Log why ffmpeg is gone (with its last words), reap it and schedule the next start."""
        tail = self._end_process(graceful=False)
        delay = self._restarter.failed(f"{why}: {tail}" if tail else why)
        log.warning("camera %s: %s; restarting in %.1f s; ffmpeg said: %s",
                    self.camera, why, delay, tail or "(nothing)")

    def _end_process(self, *, graceful: bool, timeout: float = 3.0) -> str:
        """Stop and reap the current ffmpeg, if any; return its last stderr lines on one line."""
        proc, self._proc = self._proc, None
        ours, self._input = self._input, None
        if proc is None:
            return ""
        if ours is not None:
            ours.close()  # EOF (or, after a kill, nothing): ffmpeg writes out the last segment and the playlist
        if graceful:
            proc.wait(timeout / 2)
            proc.stop(timeout / 2)
        else:
            proc.kill()
        return " | ".join(proc.stderr_tail().splitlines()[-TAIL_IN_LOG:])

    # -- writing -----------------------------------------------------------------------------------------------

    def _send(self, frame: np.ndarray) -> bool:
        assert self._proc is not None and self._input is not None
        fd = self._input.fileno()
        data = memoryview(frame).cast("B")
        deadline: float | None = None
        poller: select.poll | None = None
        while data:
            # Write first: the buffer usually has room for the whole frame, and then nothing waits or polls.
            try:
                written = os.write(fd, data)
            except BlockingIOError:
                written = 0
            except OSError as exc:
                if exc.errno in (errno.EPIPE, errno.ECONNRESET):
                    return self._broken()
                raise
            data = data[written:]
            if not data:
                break
            if poller is None:
                deadline = time.monotonic() + self._stall_seconds
                poller = select.poll()
                poller.register(fd, select.POLLOUT)
            assert deadline is not None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._failed(f"ffmpeg took no input for {self._stall_seconds:.1f} s (hung), killed it")
                return False
            events = poller.poll(remaining * 1000)
            if any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events):
                return self._broken()
        self._restarter.last_error = None  # a frame went through: the last failure is over
        return True

    def _broken(self) -> bool:
        """ffmpeg closed its input: it died (or is dying); collect its exit status."""
        assert self._proc is not None
        code = self._proc.wait(0.5)
        self._failed(f"ffmpeg exited with code {code}" if code is not None else "ffmpeg closed its input")
        return False


def _grow_pipe(fd: int, frame_bytes: int) -> None:
    """Make the pipe hold a whole frame if allowed, else as much as allowed: fewer wake-ups per frame and room
    to absorb a short hiccup in ffmpeg. Failure only costs efficiency."""
    wanted = max(frame_bytes, 65536)
    for size in (wanted, _pipe_max()):
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, min(size, wanted))
            return
        except OSError:
            continue


def _grow_socket(ours: socket.socket, theirs: socket.socket, size: int) -> None:
    """Room for `size` bytes in flight on the socket to ffmpeg, or as much as the kernel allows (it caps the
    request at net.core.wmem_max and rmem_max silently). Failure only costs efficiency."""
    for sock, option in ((ours, socket.SO_SNDBUF), (theirs, socket.SO_RCVBUF)):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, size)
        except OSError:
            continue


def _close(*fds: int | None) -> None:
    for fd in fds:
        if fd is not None:
            os.close(fd)


def _pipe_max() -> int:
    try:
        return int(Path("/proc/sys/fs/pipe-max-size").read_text())
    except (OSError, ValueError):
        return 1 << 20

