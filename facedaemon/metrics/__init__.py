"""The daemon's Prometheus registry (daemon process). The exposition file it writes for the web workers is part
of runtime/status.py.
"""
