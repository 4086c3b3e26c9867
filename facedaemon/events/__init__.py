"""Who arrived and who left, per camera (daemon process): the pure presence tracker (presence.py) and its rule for
unknown visitors (visitors.py), the hub that feeds it recognition results, and the sinks that report it (log,
webhook, MQTT; the MQTT topics and Home Assistant discovery configs are pure builders in ha_discovery.py).
"""
