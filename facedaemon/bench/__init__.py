"""`facedaemon bench` (CLI process): the seed's design and facedaemon's pipeline, measured on the same clip in one
run; built from the daemon's own parts (pipeline, worker, outputs). The soak (scripts/soak) is a developer tool
and lives in devtools/, which is not shipped.
"""
