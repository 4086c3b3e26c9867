"""One viewer's queue on the live path: bounded, newest wins, and never a broken picture. Pure: no sockets.

A viewer that falls behind loses what is queued and skips to the next keyframe (a fragment that depends on a
dropped one would smear the picture), so a slow viewer only ever delays itself, by at most the queue.
"""

from __future__ import annotations

from collections import deque

from facedaemon.outputs.live.boxes import Piece

MAX_QUEUED = 15  # fragments (0.5 s at 30 fps) waiting for a viewer beyond the socket's own buffer


class ViewerQueue:
    """Pieces waiting to be written to one viewer, and the bytes of the one being written (never cut)."""

    def __init__(self, *, max_queued: int = MAX_QUEUED) -> None:
        self._start: deque[Piece] = deque()  # init segment and the current keyframe's frames: not bounded
        self._queued: deque[Piece] = deque()
        self._max = max_queued
        self._writing = memoryview(b"")
        self._writing_fragment = False
        self._need_key = True
        self.sent = 0  # fragments fully handed to the socket
        self.dropped = 0  # fragments this viewer did not get

    def start(self, init: Piece, gop: list[Piece]) -> None:
        """Begin with the init segment and the frames since the newest keyframe: the picture starts at once
        (the player jumps to the newest of them). They go out ahead of the bound: a whole GOP is what a new
        viewer needs, not a sign of falling behind."""
        self._start.append(init)
        if gop and gop[0].key:
            self._start.extend(gop)
            self._need_key = False

    def offer(self, piece: Piece) -> None:
        if self._need_key and not piece.key:
            self.dropped += 1
            return
        if len(self._queued) >= self._max:
            # Behind: what is queued is already late; drop it and wait for a keyframe to start clean again.
            self.dropped += len(self._queued)
            self._queued.clear()
            self._need_key = True
            if not piece.key:
                self.dropped += 1
                return
        self._need_key = False
        self._queued.append(piece)

    def pending(self) -> bool:
        return bool(self._writing) or bool(self._start) or bool(self._queued)

    def chunk(self) -> memoryview:
        """The bytes to write next (the rest of the current piece, or the next piece); empty when idle."""
        if not self._writing and (self._start or self._queued):
            piece = (self._start or self._queued).popleft()
            self._writing = memoryview(piece.data)
            self._writing_fragment = piece.kind == "fragment"
        return self._writing

    def wrote(self, count: int) -> None:
        """count bytes of chunk() went out."""
        self._writing = self._writing[count:]
        if not self._writing and self._writing_fragment:
            self.sent += 1
            self._writing_fragment = False
