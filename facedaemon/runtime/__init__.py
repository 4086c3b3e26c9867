"""The runtime_dir contracts between processes: the daemon and the worker write, the web workers read.

One module per file contract, holding its writer, its reader and its schema: status.py (status.json and
metrics.prom), hls.py (the per-camera HLS folder's file names), recent.py (recent face crops for "not this
person"), live.py (the socket a web worker asks for a camera's low-latency stream on). numpy-free, so the web app
can import all of them.
"""
