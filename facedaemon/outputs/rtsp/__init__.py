"""RTSP output (daemon process): the H.264 ffmpeg already encodes, split into access units (annexb.py), fed per
camera (feed.py) to one GStreamer sidecar process (sidecar_gst.py, system python) that the daemon owns (server.py).
"""
