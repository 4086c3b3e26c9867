"""A stand-in IP camera for the fault tests: GStreamer's RTSP server serving a live H.264 test pattern, or (--clip)
an MPEG-TS file of H.264 or H.265 as it is (devtools/source_clips.py makes them), with an optional audio track.

Test-only. Runs under the system python (Debian's python3-gi + gir1.2-gst-rtsp-server-1.0), standard library and
gi only. Usage:  /usr/bin/python3 rtsp_camera.py --port PORT [--path cam] [--probe]
    [--clip FILE.ts --codec h264|h265 [--audio none|aac|pcmu] [--drop SHARE] [--then FILE.ts --after SECONDS]]
    [--user NAME --password WORD] [--address 127.0.0.1]
--drop: that share of NAL units is lost before packetisation (packet loss; see test_source_matrix.py for why not
netem). --then: sessions opened SECONDS after the first one started play that file instead (a camera whose settings were
changed: the first clip shows the change mid-stream, a reconnect gets the new stream). --user: basic auth required.
Prints "serving rtsp://ADDRESS:PORT/PATH" on stdout once listening. Exit 3: GStreamer or an element missing;
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


PAYLOADERS = {"h264": "h264parse ! rtph264pay", "h265": "h265parse ! rtph265pay"}
# Not live: the server's sinks play them at the clip's pace. Audio at a camera's usual rates.
AUDIO = {
    "none": "",
    "aac": " audiotestsrc wave=sine ! audio/x-raw,rate=16000,channels=1 ! audioconvert ! voaacenc ! aacparse "
           "! rtpmp4gpay name=pay1 pt=97",
    "pcmu": " audiotestsrc wave=sine ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay name=pay1 pt=0",
}


def clip_launch(path: str, codec: str, audio: str, drop: float = 0.0) -> str:
    """drop: the share of NAL units lost before they are sent (slices gone as after lost packets)."""
    parse, pay = PAYLOADERS[codec].split(" ! ")
    lossy = f" ! video/x-{codec},alignment=nal ! identity drop-probability={drop:g}" if drop else ""
    return (f"( filesrc location={path} ! tsdemux ! {parse}{lossy} ! {pay} name=pay0 pt=96 config-interval=-1"
            f"{AUDIO[audio]} )")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--path", default="cam")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--clip")
    parser.add_argument("--codec", choices=sorted(PAYLOADERS), default="h264")
    parser.add_argument("--audio", choices=sorted(AUDIO), default="none")
    parser.add_argument("--drop", type=float, default=0.0)
    parser.add_argument("--then")
    parser.add_argument("--after", type=float, default=0.0)
    parser.add_argument("--user")
    parser.add_argument("--password", default="")
    parser.add_argument("--probe", action="store_true")
    return parser.parse_args()


def require_auth(rtsp, factory, user: str, password: str) -> object:
    """Basic auth for `user` only: anyone else is refused (401) before a stream is set up."""
    auth = rtsp.RTSPAuth()
    token = rtsp.RTSPToken()
    token.set_string(rtsp.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
    auth.add_basic(rtsp.RTSPAuth.make_basic(user, password), token)
    permissions = rtsp.RTSPPermissions()
    permissions.add_role("viewer")
    permissions.add_permission_for_role("viewer", rtsp.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
    permissions.add_permission_for_role("viewer", rtsp.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
    factory.set_permissions(permissions)
    return auth


def main() -> int:
    args = parse_args()
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
    server.set_address(args.address)
    server.set_service(str(args.port))
    factory = rtsp.RTSPMediaFactory()
    if args.clip:  # one pipeline per session: each viewer plays the file from its start
        factory.set_launch(clip_launch(args.clip, args.codec, args.audio, args.drop))
    else:
        factory.set_launch(launch)
        factory.set_shared(True)
    if args.then:
        then = clip_launch(args.then, args.codec, args.audio)

        def switch() -> bool:
            factory.set_launch(then)
            print(f"rtsp_camera: new sessions play {args.then}", file=sys.stderr, flush=True)
            return False

        started: list[bool] = []

        def first_session(_factory, _media) -> None:
            if not started:
                started.append(True)
                glib.timeout_add(int(args.after * 1000), switch)

        factory.connect("media-configure", first_session)
    if args.user:
        server.set_auth(require_auth(rtsp, factory, args.user, args.password))
    server.get_mount_points().add_factory("/" + args.path, factory)
    if server.attach(None) == 0:
        print(f"rtsp_camera: cannot listen on {args.address}:{args.port}", file=sys.stderr, flush=True)
        return 2
    loop = glib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        glib.unix_signal_add(glib.PRIORITY_DEFAULT, signum, loop.quit)
    print(f"serving rtsp://{args.address}:{args.port}/{args.path}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
