"""Where annotated frames go (daemon process): ffmpeg's arguments and what the chosen binary can do, the encoder
that owns one ffmpeg per camera (HLS into runtime_dir/<camera>/, named in runtime/hls.py), the RTSP output (rtsp/)
and the low-latency live output for the page (live/).
"""
