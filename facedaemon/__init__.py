"""facedaemon: watch cameras, name known faces, stream annotated HLS (and RTSP), export Prometheus metrics.

Four processes: the daemon (daemon/, pipeline/, sources/, annotate/, outputs/, events/, metrics/), the recognition
child (worker/, faces/), the gunicorn web workers (web/) and the one-shot CLI (__main__, identify, bench/). They
share two file trees: runtime_dir (runtime/) and faces_dir (gallery/). Bottom floor, imported by anyone:
redact, atomic_file, safe_path, logs, yuv (the frame layout), config/ and children/.
"""
