"""The control plane, run in the daemon process: the arbiter (main loop, signals, start/reload/stop), the reload
plan, the web server's gunicorn master and systemd notifications. Owns runtime_dir's lifetime; only __main__ and
bench/ import it.
"""
