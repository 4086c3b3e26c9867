"""Who arrived and who left, per camera (daemon process): the pure presence tracker (presence.py), the hub that
feeds it recognition results, and the sinks that report it (log, webhook, MQTT).
"""
