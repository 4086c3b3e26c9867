"""Typed configuration: one small model per section, unknown keys rejected; `Config` is the whole file.

Models hold data only. Paths are resolved against the config file's folder by the loader; nothing here reads
the environment or the filesystem (only the host name, the default of `device`). The auth and events sections
have their own modules (config/auth.py, config/events.py).
"""

from __future__ import annotations

import re
import socket
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from facedaemon.config.auth import AuthConfig
from facedaemon.config.base import Duration, Section
from facedaemon.config.events import EventsConfig

BITRATE = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?$")
CAMERA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# An RTSP mount path: URL-safe segments separated by '/', no '..' (players and NVRs type it by hand).
RTSP_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9][A-Za-z0-9._~-]*)*$")


class SourceKind(StrEnum):
    V4L2 = "v4l2"
    RTSP = "rtsp"
    FILE = "file"
    PATTERN = "pattern"


def check_listen(value: str, example: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"must be host:port, e.g. {example}")
    return value


class Listener(Section):
    """A section with a `listen: host:port` field."""

    listen: str

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class HttpConfig(Listener):
    listen: str = Field("127.0.0.1:8080", description="host:port gunicorn binds the web page, HLS and API to")
    workers: int = Field(1, ge=1, le=16, description="gunicorn worker processes")
    threads: int = Field(8, ge=1, le=64, description="ignored since the gevent worker (kept so old files load)")
    identify_per_minute: int = Field(60, ge=1, le=3600, description="photos one client may send to POST "
                                     "/api/identify per minute (all web workers together); more get 429")
    allowed_hosts: tuple[str, ...] = Field(
        (), description="host names the page may be reached by, besides IP addresses, localhost and the listen "
                        "host (DNS rebinding defence), e.g. [cams.example.lan]")

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        return check_listen(value, "127.0.0.1:8080 or 0.0.0.0:8080")

    @field_validator("allowed_hosts")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not HOST_NAME.match(name):
                raise ValueError(f"{name!r} must be a host name such as cams.example.lan (no port, scheme or '*')")
        return value


DEFAULT_DETECTOR = "blazeface"  # best for small and turned faces: docs/faces.md; the figures: docs/performance.md
DETECTORS = ("blazeface", "hog", "cnn")


class RecognitionConfig(Section):
    model: Literal["blazeface", "hog", "cnn"] = Field(
        DEFAULT_DETECTOR, description="face detector: blazeface (small and turned faces, CPU), hog (CPU; faces above "
                                 "~1/8 of the frame at scale 0.25) or cnn (slow without GPU)"
    )
    scale: float = Field(0.25, gt=0.0, le=1.0, description="hog and cnn only: detect faces on the frame scaled by this "
                                                           "factor (blazeface, the default, sizes its own tiles and "
                                                           "ignores it)")
    tolerance: float = Field(
        0.6, gt=0.0, le=1.0, description="max face distance for a match (lower = stricter)"
    )
    upsample: int = Field(1, ge=0, le=3, description="hog and cnn only: times the detector upsamples the scaled frame "
                                                      "(blazeface ignores it)")
    recheck_seconds: float = Field(
        2.0, gt=0.0, description="re-encode a tracked face this often to confirm its name"
    )
    recheck_max_seconds: float = Field(
        8.0, gt=0.0, description="a name its rechecks keep confirming is rechecked less often, down to this"
    )

    @model_validator(mode="after")
    def _recheck_range(self) -> RecognitionConfig:
        if self.recheck_max_seconds < self.recheck_seconds:
            raise ValueError(f"recheck_max_seconds ({self.recheck_max_seconds:g}) must be at least "
                             f"recheck_seconds ({self.recheck_seconds:g})")
        return self


class HlsConfig(Section):
    segment_seconds: float = Field(1.0, gt=0.0, le=10.0, description="target length of one HLS segment")
    playlist_size: int = Field(
        6, ge=2, le=60, description="segments listed in the playlist; older ones deleted"
    )


class LiveConfig(Section):
    # Each live viewer costs the daemon ~0.5 % of a core (docs/performance.md); past the cap the page plays HLS,
    # which costs nothing per viewer, so many viewers cannot take the camera's CPU.
    max_viewers: int = Field(
        20, ge=0, le=1000,
        description="viewers per camera on the low-latency path; more get HLS (the page falls back); 0: live path off",
    )


class EncoderConfig(Section):
    codec: str = Field("libx264", description="ffmpeg video encoder: libx264, h264_v4l2m2m (Pi), h264_vaapi")
    preset: str = Field("ultrafast", description="libx264 preset")
    bitrate: str | None = Field(
        None, description="target bitrate such as 2M; default: constant quality (crf)"
    )
    crf: int = Field(23, ge=0, le=51, description="libx264 constant-quality factor when no bitrate is set")
    threads: int = Field(1, ge=0, le=16, description="libx264 threads per camera; 0: ffmpeg decides (large frames)")
    ffmpeg: str | None = Field(
        None, description="path of the ffmpeg binary; default: system ffmpeg, else bundled"
    )

    @field_validator("bitrate")
    @classmethod
    def _bitrate(cls, value: str | None) -> str | None:
        if value is not None and not BITRATE.match(value.strip()):
            raise ValueError("must be a bitrate such as 800k, 2M or 1500000")
        return value


class RtspConfig(Listener):
    # Loopback by default like http: RTSP has no login here, so serving the LAN is an explicit choice.
    listen: str = Field(
        "127.0.0.1:8554",
        description="host:port of the RTSP server (cameras with rtsp enabled); 0.0.0.0:8554 serves the LAN, no login",
    )
    python: str = Field(
        "/usr/bin/python3",
        description="python with GStreamer's RTSP server bindings (Debian: python3-gi, gir1.2-gst-rtsp-server-1.0)",
    )

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        return check_listen(value, "0.0.0.0:8554 or 127.0.0.1:8554")


class RtspOutputConfig(Section):
    enabled: bool = Field(False, description="serve this camera's annotated stream over RTSP")
    path: str | None = Field(None, description="RTSP path: rtsp://host:port/<path>; default: the camera name")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip("/")
        if len(value) > 128 or not RTSP_PATH.match(value):
            raise ValueError("must be letters, digits, '.', '_', '~', '-' in '/'-separated parts, e.g. door or "
                             "cams/door")
        return value


class MetricsConfig(Section):
    person_labels: bool = Field(False, description="label face metrics with person names (privacy: off)")


class PrivacyConfig(Section):
    blur_unknown: bool = Field(False, description="blur faces that are not recognised in the output streams")


class UnknownsConfig(Section):
    """Crops of faces nobody is known as: opt-in, kept for `retention`, then deleted."""

    save: bool = Field(False, description="keep the best crop of each unknown face (one per track)")
    retention: Duration = Field(86400.0, gt=0.0, le=366 * 86400.0,
                             description="how long a crop is kept: 30m, 24h, 7d (a number alone is seconds)")
    dir: Path | None = Field(None, description="where the crops are kept; default: <faces_dir>/.unknowns")


class HistoryConfig(Section):
    """Visits (who was seen, when, where) kept in SQLite under state_dir: docs/history.md."""

    enabled: bool = Field(True, description="record a visit for each person seen (strangers too, their thumbnails "
                                            "only while unknowns.save is on)")
    retention: Duration = Field(30 * 86400.0, gt=0.0, le=10 * 366 * 86400.0,
                                description="how long a visit is kept: 7d, 30d, 52w (a number alone is seconds)")
    max_mb: int = Field(200, ge=1, le=100_000, description="size cap of the history database in MB; past it the "
                                                           "oldest visits are deleted")
    grace: Duration = Field(60.0, ge=0.0, le=86400.0,
                            description="a person seen again on the same camera within this long continues the "
                                        "same visit: 30s, 5m")


class SourceConfig(Section):
    kind: SourceKind = Field(description="v4l2, rtsp, file or pattern (with `source: <value>` alone, told from "
                                         "the value)")
    uri: str = Field(description="device path, index, rtsp:// URL, file path or pattern name")


class OutputSizeConfig(Section):
    """The stream's size, apart from the capture's: a 4K camera can be named at 4K and streamed at 1080p."""

    width: int | None = Field(None, ge=32, le=7680, description="the stream is at most this wide; none: no limit")
    height: int | None = Field(None, ge=32, le=4320, description="the stream is at most this high; none: no limit")


class CameraConfig(Section):
    name: str = Field(description="the camera's key under cameras (set by the loader)")
    source: SourceConfig = Field(description="what to read: a device path or index (/dev/video0, 0), an rtsp:// or "
                                             "rtsps:// URL (${env:..} and ${cred:..} allowed), a video file path or "
                                             "pattern (a moving test picture); or a mapping {kind, uri}")
    enabled: bool = Field(True, description="false: configured but not started")
    recognize: bool = Field(True, description="run face recognition on this camera")
    width: int | None = Field(None, ge=16, le=7680, description="requested capture width (v4l2, pattern)")
    height: int | None = Field(None, ge=16, le=4320, description="requested capture height (v4l2, pattern)")
    fps: float | None = Field(
        None, gt=0.0, le=240.0, description="requested frame rate; files default to theirs"
    )
    loop: bool = Field(False, description="file sources: start again at the end")
    rtsp_transport: Literal["tcp", "udp"] = Field(
        "tcp", description="rtsp:// sources: how the camera sends its video to us; tcp (survives lossy links) or udp "
                           "(cameras that only speak UDP). Not the rtsp output")
    rtsp: RtspOutputConfig = Field(RtspOutputConfig(),
                                   description="this camera's RTSP output: true/false, or a mapping")
    output: OutputSizeConfig = Field(
        OutputSizeConfig(), description="size of what this camera serves (HLS, live, RTSP, snapshots): the picture "
                                        "is scaled down to fit inside output.width × output.height, its shape kept "
                                        "(never enlarged); recognition still sees the whole captured picture. Not "
                                        "the capture width/height (docs/cameras.md)")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not CAMERA_NAME.match(value):
            raise ValueError(
                "camera names use letters, digits, '_' and '-' (at most 64, no leading '-' or '_')"
            )
        return value

    @model_validator(mode="after")
    def _transport_for_rtsp(self) -> CameraConfig:
        if self.rtsp_transport != "tcp" and self.source.kind is not SourceKind.RTSP:
            raise ValueError(f"rtsp_transport: {self.rtsp_transport} applies to rtsp:// sources only, this camera's "
                             f"source is {self.source.kind.value}")
        return self

    @property
    def rtsp_path(self) -> str:
        return self.rtsp.path or self.name


def default_device() -> str:
    """The host's short name, made a valid device name (dots and other characters become '-')."""
    short = socket.gethostname().split(".")[0]
    name = re.sub(r"[^A-Za-z0-9_-]", "-", short).lstrip("-_")[:64]
    return name or "facedaemon"


class Config(Section):
    device: str = Field(default_factory=default_device,
                        description="this device's name in MQTT topics, Home Assistant ids and the status API; "
                                    "default: the host name. Unique across a fleet")
    faces_dir: Path = Field(description="known faces: faces/<person>/*.jpg or faces/<person>.jpg")
    runtime_dir: Path = Field(description="HLS output and status files (tmpfs under systemd)")
    cache_dir: Path | None = Field(
        None, description="face-encoding cache; default: <faces_dir>/.facedaemon-cache"
    )
    state_dir: Path | None = Field(
        None, description="persistent state (the visit history); never inside faces_dir, which a fleet syncs. "
                          "Default: $STATE_DIRECTORY under systemd (/var/lib/facedaemon), else "
                          "$XDG_STATE_HOME/facedaemon (~/.local/state/facedaemon)")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="the least severe log "
                                                                                       "lines written")
    http: HttpConfig = Field(HttpConfig(), description="the web server: page, HLS, live path, /api, /healthz and "
                                                       "/metrics")
    recognition: RecognitionConfig = Field(RecognitionConfig(), description="finding and naming faces")
    hls: HlsConfig = Field(HlsConfig(), description="the HLS output of each camera (the page's fallback player)")
    live: LiveConfig = Field(LiveConfig(), description="the page's low-latency live path")
    encoder: EncoderConfig = Field(EncoderConfig(), description="the H.264 encoder (one ffmpeg per camera)")
    metrics: MetricsConfig = Field(MetricsConfig(), description="the Prometheus metrics at /metrics")
    rtsp: RtspConfig = Field(RtspConfig(), description="the RTSP server, for the cameras whose rtsp is enabled")
    cameras: tuple[CameraConfig, ...] = Field(min_length=1, description="cameras by name (letters, digits, '_' and "
                                                                       "'-'; it appears in URLs and metrics); at "
                                                                       "least one")
    auth: AuthConfig = Field(AuthConfig(), description="login for the page, HLS, API and /metrics (/healthz stays "
                                                       "public); required when http.listen is beyond loopback")
    events: EventsConfig = Field(EventsConfig(), description="who arrived and who left, per camera; names leave "
                                                             "this machine only through the webhook or MQTT")
    privacy: PrivacyConfig = Field(PrivacyConfig(), description="what the output streams show")
    unknowns: UnknownsConfig = Field(UnknownsConfig(), description="crops of faces nobody is known as (opt-in), to "
                                                                   "name or delete on the /faces page")
    history: HistoryConfig = Field(HistoryConfig(), description="who was seen, when and where: visits kept per "
                                                                "device (docs/history.md)")

    _notices: tuple[str, ...] = PrivateAttr(())  # set by the loader: deprecated keys, each worded for the log

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not CAMERA_NAME.match(value):
            raise ValueError("device names use letters, digits, '_' and '-' (at most 64, no leading '-' or '_')")
        return value

    @model_validator(mode="after")
    def _unique_cameras(self) -> Config:
        names = [camera.name for camera in self.cameras]
        if len(names) != len(set(names)):
            raise ValueError("camera names must be unique")
        return self

    @model_validator(mode="after")
    def _rtsp_paths(self) -> Config:
        served = [camera for camera in self.cameras if camera.rtsp.enabled]
        owners: dict[str, str] = {}
        for camera in served:
            if camera.rtsp_path in owners:
                raise ValueError(f"cameras {owners[camera.rtsp_path]} and {camera.name} both serve rtsp path "
                                 f"'{camera.rtsp_path}'; give one a different rtsp.path")
            owners[camera.rtsp_path] = camera.name
        if served and self.rtsp.port == self.http.port:
            raise ValueError(f"rtsp.listen and http.listen cannot share port {self.http.port}")
        return self

    @model_validator(mode="after")
    def _auth_beyond_loopback(self) -> Config:
        if self.auth_required and not (self.auth.users or self.auth.tokens):
            where = "http.listen is beyond loopback" if self.auth.enabled is None else "auth.enabled is true"
            raise ValueError(f"auth: {where} ({self.http.listen}) but no auth.users or auth.tokens are set: add a "
                             "user (facedaemon hash-password) or set auth.enabled: false to serve without login")
        return self

    @property
    def auth_required(self) -> bool:
        if self.auth.enabled is not None:
            return self.auth.enabled
        host = self.http.host
        return not (host in LOOPBACK_HOSTS or host.startswith("127."))

    @property
    def notices(self) -> tuple[str, ...]:
        """What the loader warns about (deprecated keys, with file and line): the daemon logs each once per load."""
        return self._notices

    @property
    def encodings_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.faces_dir / ".facedaemon-cache"

    @property
    def unknowns_dir(self) -> Path:
        return self.unknowns.dir if self.unknowns.dir is not None else self.faces_dir / ".unknowns"

    def camera(self, name: str) -> CameraConfig:
        for camera in self.cameras:
            if camera.name == name:
                return camera
        raise KeyError(name)
