"""A stand-in IP camera for the fault tests: GStreamer's RTSP server serving a live H.264 test pattern.

Test-only. Runs under the system python (Debian's python3-gi + gir1.2-gst-rtsp-server-1.0), standard library and
gi only. Usage:  /usr/bin/python3 rtsp_camera.py --port PORT [--path cam] [--probe]
Prints "serving rtsp://127.0.0.1:PORT/PATH" on stdout once listening. Exit 3: GStreamer or an element missing;
2: the port cannot be bound.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

EXIT_UNAVAILABLE = 3
# x264enc (plugins-ugly) when installed, else openh264enc (plugins-bad): either gives baseline-ish H.264.
ENCODERS = {
    "x264enc": "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate=800",
    "openh264enc": "openh264enc complexity=low gop-size=15 bitrate=800000",
}


def load():
    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtspServer
    except (ImportError, ValueError) as exc:
        raise RuntimeError(f"cannot load GStreamer's RTSP server through PyGObject: {exc}") from None
    Gst.init(None)
    missing = [name for name in ("videotestsrc", "rtph264pay", "h264parse") if Gst.ElementFactory.find(name) is None]
    encoder = next((launch for name, launch in ENCODERS.items() if Gst.ElementFactory.find(name) is not None), None)
    if missing or encoder is None:
        missing = missing or ["an H.264 encoder (x264enc or openh264enc)"]
        raise RuntimeError(f"GStreamer elements missing: {', '.join(missing)}")
    return GLib, GstRtspServer, encoder


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--path", default="cam")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--probe", action="store_true")
    args = parser.parse_args()
    try:
        glib, rtsp, encoder = load()
    except RuntimeError as exc:
        print(f"rtsp_camera: {exc}", file=sys.stderr, flush=True)
        return EXIT_UNAVAILABLE
    if args.probe:
        return 0
    launch = (f"( videotestsrc is-live=true pattern=ball "
              f"! video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1 "
              f"! videoconvert ! video/x-raw,format=I420 ! {encoder} ! h264parse config-interval=-1 "
              f"! rtph264pay name=pay0 pt=96 config-interval=-1 )")
    server = rtsp.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = rtsp.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)
    server.get_mount_points().add_factory("/" + args.path, factory)
    if server.attach(None) == 0:
        print(f"rtsp_camera: cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 2
    loop = glib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        glib.unix_signal_add(glib.PRIORITY_DEFAULT, signum, loop.quit)
    print(f"serving rtsp://127.0.0.1:{args.port}/{args.path}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
