"""`facedaemon bench` (CLI process): the seed's design and facedaemon's pipeline, measured on the same clip in one
run; built from the daemon's own parts (pipeline, worker, outputs). Also the soak harness (scripts/soak).
"""
