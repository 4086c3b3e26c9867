"""A built-in moving test pattern, so the daemon shows something on a machine with no camera."""

from __future__ import annotations

import time

import numpy as np

from facedaemon import yuv
from facedaemon.sources.base import Frame
from facedaemon.sources.frame_clock import Pacer
from facedaemon.sources.pattern_code import draw_code

BARS = [(192, 192, 192), (0, 192, 192), (192, 192, 0), (0, 192, 0), (192, 0, 192), (0, 0, 192), (192, 0, 0)]


class PatternSource:
    """Colour bars, a sweeping block and a clock (wall time with milliseconds) burned into every frame.

    The same time is also drawn as a machine-readable stripe along the bottom (pattern_code) so a tool can
    measure glass-to-glass delay from a screenshot of any player.
    """

    def __init__(self, name: str, width: int = 1280, height: int = 720, fps: float = 30.0) -> None:
        self.name = name
        self.description = f"test pattern {width}x{height}@{fps:g}"
        self.width, self.height, self.fps = width, height, fps
        self._background: np.ndarray | None = None
        self._pacer: Pacer | None = None
        self._count = 0

    def open(self) -> None:
        self._background = _bars(self.width, self.height)
        self._pacer = Pacer(self.fps)
        self._count = 0

    def read(self) -> Frame:
        assert self._background is not None and self._pacer is not None, "open() first"
        self._pacer.wait()
        now, now_mono = time.time(), time.monotonic()
        image = self._background.copy()
        self._draw_motion(image)
        self._draw_clock(image, now)
        draw_code(image, int(now * 1000))
        self._count += 1
        return Frame(yuv.from_bgr(image), now, now_mono)

    def close(self) -> None:
        self._background = None

    def _draw_motion(self, image: np.ndarray) -> None:
        size = max(8, self.height // 6)
        span = max(1, self.width - size)
        x = int((self._count * 8) % (2 * span))
        x = x if x < span else 2 * span - x
        y = self.height - size - self.height // 20
        image[y : y + size, x : x + size] = (255, 255, 255)

    def _draw_clock(self, image: np.ndarray, now: float) -> None:
        import cv2

        text = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
        scale = self.height / 360
        org = (self.width // 20, self.height // 6)
        cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), int(6 * scale), cv2.LINE_AA)
        cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), int(2 * scale), cv2.LINE_AA)
        label = f"{self.name}  frame {self._count}"
        cv2.putText(image, label, (org[0], org[1] + int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale / 2,
                    (255, 255, 255), max(1, int(scale)), cv2.LINE_AA)


def _bars(width: int, height: int) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    bar = max(1, width // len(BARS))
    for index, colour in enumerate(BARS):
        image[: height * 2 // 3, index * bar : (index + 1) * bar] = colour
    image[height * 2 // 3 :, :] = (40, 40, 40)
    return image
