"""H.264 Annex-B byte stream into access units (one picture each, SPS/PPS repeated before every keyframe), and
the framing the sidecar reads. Pure: no sockets, no processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from facedaemon.outputs.rtsp.sidecar_gst import HEADER, KEYFRAME

_START_CODE = b"\x00\x00\x01"
_NAL_IDR, _NAL_SEI, _NAL_SPS, _NAL_PPS, _NAL_AUD = 5, 6, 7, 8, 9
_VCL = (1, 5)
# NAL types that open a new access unit once the current one has a picture (H.264 7.4.1.2.3).
_AU_OPENERS = {_NAL_SEI, _NAL_SPS, _NAL_PPS, _NAL_AUD, 14, 15, 16, 17, 18}
_MAX_PENDING = 16 << 20  # bytes without a start code: not H.264, start over


@dataclass(frozen=True, slots=True)
class AccessUnit:
    data: bytes  # Annex-B: each NAL unit behind a 4-byte start code
    key: bool  # holds an IDR picture (and then its SPS/PPS)


class AccessUnitSplitter:
    """Cuts an Annex-B H.264 byte stream, fed in arbitrary chunks, into whole access units (frames).

    An access unit is emitted when the next one begins, so the newest frame waits one frame interval. Keyframes
    that arrive without SPS/PPS (encoders that send them once, out of band) get the last ones seen, so every
    keyframe is a place a new viewer can start.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._nals: list[bytes] = []
        self._has_picture = False
        self._sps: bytes | None = None
        self._pps: bytes | None = None

    def feed(self, data: bytes) -> list[AccessUnit]:
        self._pending += data
        units: list[AccessUnit] = []
        for nal in self._complete_nals():
            unit = self._add(nal)
            if unit is not None:
                units.append(unit)
        # The next frame's first header is enough to know this one is complete: do not wait for its end.
        head = self._pending[3:5]
        if self._has_picture and head and _opens_unit(head):
            unit = self._finish()
            if unit is not None:
                units.append(unit)
        return units

    def flush(self) -> list[AccessUnit]:
        """At end of stream: the last access unit (its final NAL unit ends with the stream)."""
        nal, self._pending = _strip_start(self._pending), b""
        unit = self._add(nal) if nal else None
        last = self._finish()
        return [u for u in (unit, last) if u is not None]

    def _complete_nals(self) -> list[bytes]:
        """NAL units (without start codes) that the next start code has closed; the rest stays pending."""
        buf = self._pending
        first = buf.find(_START_CODE)
        if first < 0:
            if len(buf) > _MAX_PENDING:
                self._pending = b""
            return []
        nals, start = [], first + 3
        while (end := buf.find(_START_CODE, start)) >= 0:
            nals.append(buf[start:end].rstrip(b"\x00"))  # zeros before a start code belong to it
            start = end + 3
        self._pending = buf[start - 3:]
        return [nal for nal in nals if nal]

    def _add(self, nal: bytes) -> AccessUnit | None:
        kind = nal[0] & 0x1F
        done = None
        if self._has_picture and _opens_unit(nal):
            done = self._finish()
        if kind == _NAL_SPS:
            self._sps = nal
        elif kind == _NAL_PPS:
            self._pps = nal
        self._nals.append(nal)
        self._has_picture = self._has_picture or kind in _VCL
        return done

    def _finish(self) -> AccessUnit | None:
        nals, self._nals, self._has_picture = self._nals, [], False
        kinds = [nal[0] & 0x1F for nal in nals]
        if not any(kind in _VCL for kind in kinds):
            return None
        key = _NAL_IDR in kinds
        if key and _NAL_SPS not in kinds and self._sps is not None and self._pps is not None:
            at = 1 if kinds[0] == _NAL_AUD else 0
            nals = [*nals[:at], self._sps, self._pps, *nals[at:]]
        return AccessUnit(b"".join(b"\x00\x00\x00\x01" + nal for nal in nals), key)


def _opens_unit(nal: bytes) -> bool:
    """Whether a NAL unit (at least its first two bytes) starts a new access unit after a picture."""
    kind = nal[0] & 0x1F
    if kind in _AU_OPENERS:
        return True
    return kind in _VCL and len(nal) > 1 and bool(nal[1] & 0x80)  # first_mb_in_slice == 0: a new picture


def _strip_start(buf: bytes) -> bytes:
    at = buf.find(_START_CODE)
    return buf[at + 3:].rstrip(b"\x00") if at >= 0 else b""


def frame_message(unit: AccessUnit) -> bytes:
    """One access unit as the sidecar reads it (sidecar_gst.read_message)."""
    return HEADER.pack(len(unit.data), KEYFRAME if unit.key else 0) + unit.data
