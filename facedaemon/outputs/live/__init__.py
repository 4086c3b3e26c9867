"""Low-latency live output (daemon process): ffmpeg's third tee output, fragmented MP4 with one fragment per frame,
cut into boxes (boxes.py) and fanned out per camera to the web workers' viewers over runtime_dir's live socket
(hub.py), each viewer with its own bounded newest-wins queue (fanout.py).
"""
