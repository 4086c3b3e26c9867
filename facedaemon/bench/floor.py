"""The floor: what one camera costs in ffmpeg alone, decoding the clip and encoding it again, nothing else.

The daemon's own parts with nothing between them: its FileSource (the same ffmpeg binary and decode arguments,
paced to the clip's rate, frames read from the same socket) and its Encoder (the same binary and arguments, raw
I420 frames on a pipe). A thread of this process pumps frames from one to the other; only the two ffmpeg children's
CPU is the floor, measured from /proc as the daemon's children are (bench/probe.py).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from facedaemon.bench.probe import cpu_seconds, descendants
from facedaemon.config.models import Config
from facedaemon.daemon.wiring import Wiring
from facedaemon.outputs.encoder import Encoder
from facedaemon.sources.base import FrameSource


@dataclass
class Pump:
    """Frames from the source straight into the encoder, in a thread of its own, counting what went through."""

    source: FrameSource
    encoder: Encoder
    written: int = 0
    error: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.source.open()
        self._thread = threading.Thread(target=self._run, name="bench-floor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.encoder.write(self.source.read().image):
                    self.written += 1
        except Exception as exc:  # reported in the figures: the floor run failed
            self.error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.encoder.stop(3.0)
        self.source.close()


def floor_figures(decode_cpu: float, encode_cpu: float, frames: int, seconds: float) -> dict[str, float]:
    """CPU seconds of each child over `seconds` as % of one core, and the frames per second that went through."""
    decode, encode = 100.0 * decode_cpu / seconds, 100.0 * encode_cpu / seconds
    return {"floor_decode_pct": decode, "floor_encode_pct": encode, "floor_cpu_pct": decode + encode,
            "floor_fps": frames / seconds}


def run_floor(config: Config, warmup: float, seconds: float) -> dict[str, float]:
    """One camera of `config` (its first) through decode → encode for `seconds` after `warmup`."""
    camera = config.cameras[0]
    wiring = Wiring()
    pump = Pump(wiring.source(config, camera), wiring.encoder(config, camera, on_restart=lambda: None,
                                                                  h264_sink=None))
    pump.start()
    try:
        time.sleep(warmup)
        encoder_pid = pump.encoder.pid
        pids = [pid for pid in descendants(os.getpid()) if pid != os.getpid()]
        before = {pid: cpu_seconds(pid) for pid in pids}
        frames, start = pump.written, time.monotonic()
        time.sleep(seconds)
        after = {pid: cpu_seconds(pid) for pid in pids}
        frames, span = pump.written - frames, time.monotonic() - start
    finally:
        pump.stop()
    if pump.error is not None or encoder_pid is None or encoder_pid not in before:
        raise RuntimeError(f"the floor run failed: {pump.error or 'the encoder did not start'}")
    used = {pid: after[pid] - before[pid] for pid in pids}
    encode = used.pop(encoder_pid)
    return floor_figures(sum(used.values()), encode, frames, span)
