"""The `events` section: who arrived and who left, and where that goes (log, snapshots, webhook, MQTT).

Data only, like every section; facedaemon/events/ acts on it. The TLS files are checked by config/tls.py.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from facedaemon.config.base import Duration, Section

MQTT_TOPIC = re.compile(r"^[^/#+\s][^#+\s]*(?<!/)$")  # no wildcards, no empty first/last level


class WebhookConfig(Section):
    url: str | None = Field(None, description="POST each event as JSON here (http:// or https://; ${env:..} and "
                                              "${cred:..} allowed); null: off")
    timeout: float = Field(5.0, gt=0.0, le=60.0, description="seconds one POST may take")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class MqttTlsConfig(Section):
    """TLS to the broker. File paths resolve against the config file's folder; the loader checks they are usable."""

    enabled: bool = Field(False, description="connect over TLS (`tls: true` or any tls mapping turns it on)")
    ca_file: Path | None = Field(None, description="PEM CA certificate(s) the broker's certificate must chain to; "
                                                   "default: the system's CAs")
    cert_file: Path | None = Field(None, description="PEM client certificate, for brokers that require one (may "
                                                     "also hold its key)")
    key_file: Path | None = Field(None, description="unencrypted PEM private key of cert_file")
    insecure: bool = Field(False, description="do not check that the broker's certificate names `host` (the "
                                              "chain is still verified)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        # `tls: true` / `tls: false`, or a mapping: giving TLS settings means wanting TLS unless enabled says no.
        if isinstance(value, bool) or value is None:
            return {"enabled": bool(value)}
        if isinstance(value, dict):
            return {"enabled": True, **value}
        return value

    @model_validator(mode="after")
    def _key_needs_cert(self) -> MqttTlsConfig:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file (the client certificate the key belongs to)")
        return self


class MqttConfig(Section):
    host: str | None = Field(None, description="MQTT broker host name or address; null: off")
    port: int = Field(1883, ge=1, le=65535, description="MQTT broker port; default 1883, or 8883 with tls")
    tls: MqttTlsConfig = Field(MqttTlsConfig(enabled=False),
                               description="TLS to the broker: true (system CAs) or {ca_file, cert_file, key_file, "
                                           "insecure}; default: plain TCP")
    username: str | None = Field(None, description="broker user (${env:..} / ${cred:..} allowed)")
    password: str | None = Field(None, description="broker password: use ${env:NAME} or ${cred:NAME}, not plain text")
    topic_prefix: str = Field("facedaemon", description="events on <prefix>/<camera>/event, state on "
                                                        "<prefix>/<camera>/last_person, <prefix>/status")
    discovery_prefix: str = Field("homeassistant", description="Home Assistant's MQTT discovery prefix")

    @model_validator(mode="before")
    @classmethod
    def _tls_port(cls, data: object) -> object:
        # MQTT over TLS listens on 8883 by convention: without an explicit port, the default follows `tls`.
        if not isinstance(data, dict) or "port" in data:
            return data
        tls = data.get("tls")
        if isinstance(tls, MqttTlsConfig):
            enabled = tls.enabled
        else:  # the forms MqttTlsConfig._shorthand accepts: a bool, null, or a mapping (on unless enabled: false)
            enabled = tls.get("enabled", True) is not False if isinstance(tls, dict) else bool(tls)
        return {**data, "port": 8883} if enabled else data

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and "://" in value:
            raise ValueError("must be a host name or address, not a URL (for mqtts:// set `tls: true`; the port "
                             "then defaults to 8883)")
        return value

    @field_validator("topic_prefix", "discovery_prefix")
    @classmethod
    def _topic(cls, value: str) -> str:
        if not MQTT_TOPIC.match(value):
            raise ValueError("must be an MQTT topic without '+', '#', spaces or a leading/trailing '/'")
        return value


class SnapshotsConfig(Section):
    """A JPEG of each arrival (the annotated output frame, privacy blur applied) for notifications."""

    enabled: bool = Field(True, description="keep a JPEG of the moment of each arrival, linked from its event")
    width: int = Field(640, ge=64, le=7680, description="largest width in pixels (smaller frames are kept as they "
                                                       "are)")
    keep: int = Field(100, ge=1, le=10000, description="most snapshots kept (the oldest are deleted first)")
    retention: Duration = Field(86400.0, gt=0.0, le=366 * 86400.0,
                             description="how long a snapshot is kept: 30m, 24h, 7d (a number alone is seconds)")
    base_url: str | None = Field(None, description="the address other machines reach this daemon's page by, e.g. "
                                                   "https://pi-door.lan:8080; events then carry absolute links")

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/?#\s]+/?$", value, re.IGNORECASE):
            raise ValueError("must be http(s)://host[:port], without a path, e.g. https://pi-door.lan:8080")
        return value.rstrip("/") if value is not None else None


class EventsConfig(Section):
    log: bool = Field(True, description="log one line per event")
    snapshots: SnapshotsConfig = Field(SnapshotsConfig(), description="a JPEG of each arrival, linked from its event")
    webhook: WebhookConfig = Field(WebhookConfig(), description="each event POSTed as JSON")
    mqtt: MqttConfig = Field(MqttConfig(), description="events over MQTT, with Home Assistant discovery")
    unknown_visitors: tuple[str, ...] = Field(
        (), description="cameras that report unknown visitors: one event per stranger (name 'Unknown'), with "
                        "its snapshot and a Home Assistant trigger, e.g. [door]; default: none. Replaces "
                        "include_unknown")
    grace_seconds: float = Field(2.0, gt=0.0, le=600.0,
                                 description="a person unseen this long has left (short gaps are not events)")


