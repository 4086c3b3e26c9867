"""Who arrived and who left, per camera: a pure presence tracker and the sinks that report it (log, webhook, MQTT)."""
