"""The MQTT TLS files (events.mqtt.tls): resolved against the config file's folder and checked when the config is
loaded, so a wrong path or a key that does not fit its certificate is a config error naming the key, not a
reconnect loop in the log. Only the standard library's ssl module is used: the loader stays light.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from facedaemon.config.events import MqttTlsConfig

WHERE = ("events", "mqtt", "tls")
FILE_KEYS = ("ca_file", "cert_file", "key_file")

KeyPath = tuple[str, ...]


def resolve_paths(data: dict[str, Any], resolve: Callable[[KeyPath, str], Path]) -> dict[str, Any]:
    """`data` with the TLS file paths made absolute (copies of the mappings on the way; the rest untouched)."""
    events = data.get("events")
    mqtt = events.get("mqtt") if isinstance(events, dict) else None
    tls = mqtt.get("tls") if isinstance(mqtt, dict) else None
    if not isinstance(tls, dict):
        return data
    tls = {**tls, **{key: resolve((*WHERE, key), tls[key]) for key in FILE_KEYS if isinstance(tls.get(key), str)}}
    return {**data, "events": {**events, "mqtt": {**mqtt, "tls": tls}}}


def problems(tls: MqttTlsConfig) -> list[tuple[KeyPath, str]]:
    """What is wrong with the TLS files, as (key path, message); nothing when TLS is off."""
    if not tls.enabled:
        return []
    found = [((*WHERE, key), message) for key in FILE_KEYS
             if (path := getattr(tls, key)) is not None and (message := unusable(path))]
    if found:
        return found
    return pem_problems(tls)


def unusable(path: Path) -> str | None:
    if not path.exists():
        return f"file not found (got '{path}')"
    if not path.is_file():
        return f"not a file (got '{path}')"
    if not os.access(path, os.R_OK):
        return f"not readable by this user (uid {os.getuid()}) (got '{path}')"
    return None


def pem_problems(tls: MqttTlsConfig) -> list[tuple[KeyPath, str]]:
    """Load the files the way the MQTT sink will; OpenSSL's reason goes into the message."""
    try:
        context = ca_context(tls)
    except ssl.SSLError as exc:
        return [((*WHERE, "ca_file"), f"cannot use it: {exc.reason or exc} (a PEM CA certificate expected)")]
    try:
        load_client_certificate(context, tls)
    except ssl.SSLError as exc:
        key = "key_file" if tls.key_file is not None else "cert_file"
        return [((*WHERE, key), f"cannot use it: {exc.reason or exc} (a PEM certificate and its unencrypted PEM key "
                                "expected)")]
    return []


def client_context(tls: MqttTlsConfig) -> ssl.SSLContext:
    """The TLS client context for the broker: verify the chain (and the host name unless `insecure`)."""
    context = ca_context(tls)
    load_client_certificate(context, tls)
    if tls.insecure:
        context.check_hostname = False
    return context


def ca_context(tls: MqttTlsConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file is not None else None)


def load_client_certificate(context: ssl.SSLContext, tls: MqttTlsConfig) -> None:
    if tls.cert_file is not None:
        # A password callback that returns nothing: an encrypted key fails here instead of prompting on a TTY.
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file is not None else None,
                                password=lambda: b"")
