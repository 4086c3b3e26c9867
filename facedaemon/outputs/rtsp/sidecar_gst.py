"""facedaemon's RTSP server: GStreamer's RTSP server serving the daemon's H.264, one mount per camera.

Runs as a child of the daemon under the system python (Debian's python3-gi and gir1.2-gst-rtsp-server-1.0), not
the daemon's virtualenv, so it imports only the standard library and gi — and gi only inside functions, so the
daemon can import this module for the protocol constants.

Hand-off: the daemon passes one connected unix stream socket per camera (inherited file descriptor). On it,
each message is one H.264 access unit in Annex-B form: HEADER (payload length, flags) then the payload. The
daemon guarantees that a keyframe message carries its SPS/PPS. The server reads every socket continuously and
drops what arrives while nobody watches; a new viewer's stream starts at the next keyframe. When the daemon
closes a socket (it stopped or died), the server exits.

Exit codes: 0 stopped, EXIT_UNAVAILABLE GStreamer's RTSP server or an element is missing, 2 bad use or the
address cannot be bound.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import struct
import sys
import threading

HEADER = struct.Struct(">IB")  # payload length, flags
KEYFRAME = 1
MAX_PAYLOAD = 64 << 20  # a larger length can only be a broken stream
EXIT_UNAVAILABLE = 3
PREPARING, STARTING, LIVE = "preparing", "starting", "live"
ELEMENTS = ("appsrc", "h264parse", "rtph264pay")
# One pipeline per viewer. appsrc stamps each access unit with the clock at arrival (live source). Every
# keyframe already carries its SPS/PPS (the daemon sees to it), so nothing here inserts them again: h264parse
# and rtph264pay would put them before each slice of a multi-slice keyframe, which splits that picture in two
# for decoders.
LAUNCH = (
    "( appsrc name=src is-live=true format=time do-timestamp=true min-latency=0 "
    "caps=video/x-h264,stream-format=byte-stream,alignment=au "
    "! h264parse ! rtph264pay name=pay0 pt=96 )"
)


def say(text: str) -> None:
    """One line to stderr, which the daemon forwards to its log."""
    print(text, file=sys.stderr, flush=True)


def load_gstreamer():
    """(GLib, Gst, GstRtspServer), or raise RuntimeError saying what is missing."""
    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtspServer
    except (ImportError, ValueError) as exc:
        raise RuntimeError(f"cannot load GStreamer's RTSP server through PyGObject: {exc}") from None
    Gst.init(None)
    missing = [name for name in ELEMENTS if Gst.ElementFactory.find(name) is None]
    if missing:
        raise RuntimeError(f"GStreamer elements missing: {', '.join(missing)}")
    return GLib, Gst, GstRtspServer


def read_exact(sock: socket.socket, size: int) -> bytes | None:
    """size bytes from sock, or None at end of stream."""
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(sock: socket.socket) -> tuple[bytes, bool] | None:
    """(access unit, is keyframe), or None when the daemon closed the socket."""
    header = read_exact(sock, HEADER.size)
    if header is None:
        return None
    length, flags = HEADER.unpack(header)
    if length > MAX_PAYLOAD:
        raise ValueError(f"message of {length} bytes: the stream is out of step")
    payload = read_exact(sock, length)
    return None if payload is None else (payload, bool(flags & KEYFRAME))


class Mount:
    """One camera: its socket, and the appsrc of each viewer's media that is playing.

    Each viewer gets its own small pipeline (parse + packetize; no decoding or encoding), so a viewer always
    starts at a keyframe with a clean picture and nobody else's stream is touched when one joins or leaves.
    A media goes through three phases: PREPARING (the server needs one keyframe, for the SPS/PPS it describes;
    only keyframes are pushed, as frames pushed before PLAY are partly discarded by the server), STARTING
    (playing, waiting for a keyframe) and LIVE (every frame).
    """

    def __init__(self, camera: str, path: str, sock: socket.socket, gst, on_end) -> None:
        self.camera, self.path, self.sock = camera, path, sock
        self._gst = gst
        self._on_end = on_end
        self._lock = threading.Lock()
        self._media: dict[object, str] = {}  # appsrc -> PREPARING | STARTING | LIVE

    def configure(self, _factory, media) -> None:
        """A viewer asked for the stream: its media (pipeline) was just built."""
        appsrc = media.get_element().get_by_name("src")
        media.connect("new-state", self._new_state, appsrc)
        media.connect("unprepared", self._unprepared, appsrc)
        with self._lock:
            self._media[appsrc] = PREPARING

    def _new_state(self, _media, state, appsrc) -> None:
        # Frames pushed before PLAYING never reach the viewer: start at the first keyframe after it.
        with self._lock:
            if state != self._gst.State.PLAYING or self._media.get(appsrc) != PREPARING:
                return
            self._media[appsrc] = STARTING
            count = sum(phase != PREPARING for phase in self._media.values())
        say(f"camera {self.camera}: RTSP viewer started ({count} watching)")

    def _unprepared(self, _media, appsrc) -> None:
        with self._lock:
            if self._media.pop(appsrc, None) in (None, PREPARING):
                return
            count = sum(phase != PREPARING for phase in self._media.values())
        say(f"camera {self.camera}: RTSP viewer left ({count} watching)")

    def pump(self) -> None:
        """Read access units for ever; push each to every playing viewer, from a keyframe on."""
        try:
            while (message := read_message(self.sock)) is not None:
                self._push(*message)
            say(f"camera {self.camera}: the daemon closed the hand-off socket, stopping")
        except (OSError, ValueError) as exc:
            say(f"camera {self.camera}: hand-off socket failed ({exc}), stopping")
        self._on_end()

    def _push(self, payload: bytes, key: bool) -> None:
        with self._lock:
            targets = [appsrc for appsrc, phase in self._media.items() if key or phase == LIVE]
            for appsrc in targets:
                if self._media[appsrc] == STARTING:
                    self._media[appsrc] = LIVE
        for appsrc in targets:
            flow = appsrc.emit("push-buffer", self._gst.Buffer.new_wrapped(payload))
            if flow != self._gst.FlowReturn.OK:
                with self._lock:
                    if self._media.get(appsrc) == LIVE:
                        self._media[appsrc] = STARTING  # flushing: resume clean at the next keyframe


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe", action="store_true", help="only check that GStreamer's RTSP server loads")
    parser.add_argument("--listen", default="0.0.0.0:8554", help="host:port to serve RTSP on")
    parser.add_argument("--mount", nargs=3, action="append", default=[], metavar=("CAMERA", "PATH", "FD"),
                        help="serve the access units on socket FD at rtsp://host:port/PATH")
    return parser.parse_args(argv)


def serve(args: argparse.Namespace, glib, gst, rtsp) -> int:
    host, _, port = args.listen.rpartition(":")
    server = rtsp.RTSPServer()
    server.set_address(host.strip("[]") or "0.0.0.0")
    server.set_service(port)
    loop = glib.MainLoop()
    mounts = []
    for camera, path, fd in args.mount:
        sock = socket.socket(fileno=int(fd))
        mount = Mount(camera, path, sock, gst, lambda: glib.idle_add(loop.quit))
        factory = rtsp.RTSPMediaFactory()
        factory.set_launch(LAUNCH)
        factory.set_shared(False)  # see Mount: a few packets' work per viewer buys a clean start for each
        factory.connect("media-configure", mount.configure)
        server.get_mount_points().add_factory("/" + path, factory)
        mounts.append(mount)
    if server.attach(None) == 0:
        say(f"rtsp: cannot listen on {args.listen} (address in use or not available)")
        return 2
    for mount in mounts:
        threading.Thread(target=mount.pump, name=f"pump-{mount.camera}", daemon=True).start()
        say(f"camera {mount.camera}: RTSP serving rtsp://{args.listen}/{mount.path}")
    for signum in (signal.SIGTERM, signal.SIGINT):
        glib.unix_signal_add(glib.PRIORITY_DEFAULT, signum, loop.quit)
    loop.run()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        glib, gst, rtsp = load_gstreamer()
    except RuntimeError as exc:
        say(f"rtsp: {exc}")
        return EXIT_UNAVAILABLE
    if args.probe:
        return 0
    return serve(args, glib, gst, rtsp)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # do not wait for the pump threads blocked in recv
