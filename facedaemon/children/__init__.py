"""Owning child processes, threads and restarts (daemon process): ManagedProcess (process group, masked log tail,
bounded stop), CondThread (a worker thread stopped within a deadline), Backoff, and the one Restarter every restart
goes through (encoder ffmpeg, web server, RTSP sidecar, recognition worker, capture loop), counted in
facedaemon_restarts_total{part, camera}; which ffmpeg to run (ffmpeg.py).

Bottom floor: imports nothing from facedaemon above it except redact.py.
"""
