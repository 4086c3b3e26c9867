"""Owning a child process: process groups, log tails, backoff (run in the daemon process).

Bottom floor: imports nothing from facedaemon above it except ``facedaemon.redact``. Every owner of a child
(encoder ffmpeg, web server, RTSP sidecar, recognition worker) builds on these.
"""
