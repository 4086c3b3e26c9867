"""events.mqtt.tls files made with the openssl command: a good set loads, a key of another certificate does not."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from facedaemon.config import ConfigError, load_text
from facedaemon.config.tls import client_context
from tests.e2e.pki import make_pki

BASE = "faces_dir: faces\nruntime_dir: run\ncameras:\n  a: {source: pattern}\n"


def load(tls: str, base_dir: Path):
    return load_text(f"events:\n  mqtt: {{host: 127.0.0.1, tls: {tls}}}\n" + BASE, source="c.yaml", base_dir=base_dir)


def test_a_ca_and_a_client_certificate_with_its_key_load(tmp_path):
    make_pki(tmp_path / "pki")
    tls = load("{ca_file: pki/ca.pem, cert_file: pki/client.pem, key_file: pki/client.key}", tmp_path).events.mqtt.tls
    context = client_context(tls)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert [cert["subject"] for cert in context.get_ca_certs()] == [((("commonName", "facedaemon test ca"),),)]


def test_a_key_that_belongs_to_another_certificate_names_key_file(tmp_path):
    make_pki(tmp_path / "pki")
    with pytest.raises(ConfigError) as caught:
        load("{ca_file: pki/ca.pem, cert_file: pki/client.pem, key_file: pki/server.key}", tmp_path)
    text = str(caught.value)
    assert "events.mqtt.tls.key_file: cannot use it: KEY_VALUES_MISMATCH" in text, text
