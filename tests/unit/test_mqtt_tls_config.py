"""events.mqtt.tls: shorthand, the 8883 default, paths resolved against the config's folder, files checked at load."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from facedaemon.config import ConfigError, load_text
from facedaemon.config.tls import client_context
from facedaemon.daemon.reload import plan_reload
from tests.realparts import missing

BASE = "faces_dir: faces\nruntime_dir: run\ncameras:\n  a: {source: pattern}\n"


def config(mqtt: str, base_dir: Path = Path("/tmp")):
    return load_text(f"events:\n  mqtt: {mqtt}\n" + BASE, source="c.yaml", base_dir=base_dir)


def error(mqtt: str, base_dir: Path = Path("/tmp")) -> str:
    with pytest.raises(ConfigError) as caught:
        config(mqtt, base_dir)
    return str(caught.value)


@pytest.mark.parametrize(("mqtt", "port", "enabled"), [
    ("{host: b}", 1883, False),
    ("{host: b, tls: false}", 1883, False),
    ("{host: b, tls: true}", 8883, True),
    ("{host: b, tls: {}}", 8883, True),
    ("{host: b, tls: {insecure: true}}", 8883, True),
    ("{host: b, tls: true, port: 1883}", 1883, True),  # an explicit port wins
    ("{host: b, tls: {enabled: false}}", 1883, False),
])
def test_tls_shorthand_and_the_port_default(mqtt, port, enabled):
    loaded = config(mqtt).events.mqtt
    assert (loaded.port, loaded.tls.enabled) == (port, enabled)


def test_relative_files_resolve_against_the_config_folder(tmp_path):
    (tmp_path / "certs").mkdir()
    ca = tmp_path / "certs" / "ca.pem"
    ca.write_text(_system_ca_pem())
    tls = config("{host: b, tls: {ca_file: certs/ca.pem}}", tmp_path).events.mqtt.tls
    assert tls.ca_file == ca and tls.enabled


def _system_ca_pem() -> str:
    """One PEM CA certificate from the system store (any real certificate will do for loading)."""
    context = ssl.create_default_context()
    certificates = context.get_ca_certs(binary_form=True)
    if not certificates:
        missing("system CA certificates", "none to load a real PEM from (Debian package 'ca-certificates')")
    return ssl.DER_cert_to_PEM_cert(certificates[0])


@pytest.mark.parametrize(("mqtt", "message"), [
    ("{host: b, tls: {ca_file: nope.pem}}", "events.mqtt.tls.ca_file: file not found (got '{dir}/nope.pem')"),
    ("{host: b, tls: {ca_file: .}}", "events.mqtt.tls.ca_file: not a file (got '{dir}')"),
    ("{host: b, tls: {cert_file: nope.pem}}", "events.mqtt.tls.cert_file: file not found"),
    ("{host: b, tls: {key_file: k.pem}}", "events.mqtt.tls: key_file needs cert_file"),
    ("{host: b, tls: {cafile: x}}", "events.mqtt.tls.cafile: unknown key 'cafile' (did you mean 'ca_file'?)"),
    ("{host: b, tls: 3}", "events.mqtt.tls: must be a mapping of settings"),
    ("{host: 'mqtts://b:8883'}", "events.mqtt.host: must be a host name or address, not a URL (for mqtts:// set "
                                 "`tls: true`"),
])
def test_bad_tls_settings_name_the_key(tmp_path, mqtt, message):
    assert message.format(dir=tmp_path) in error(mqtt, tmp_path)


def test_a_file_that_is_no_certificate_is_a_config_error(tmp_path):
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    text = error("{host: b, tls: {ca_file: ca.pem}}", tmp_path)
    assert "events.mqtt.tls.ca_file: cannot use it:" in text and "(a PEM CA certificate expected)" in text


def test_files_of_a_disabled_tls_section_are_not_checked(tmp_path):
    assert not config("{host: b, tls: {enabled: false, ca_file: nope.pem}}", tmp_path).events.mqtt.tls.enabled


def test_client_context_verifies_the_chain_and_the_host_unless_insecure():
    strict = client_context(config("{host: b, tls: true}").events.mqtt.tls)
    assert strict.verify_mode == ssl.CERT_REQUIRED and strict.check_hostname
    relaxed = client_context(config("{host: b, tls: {insecure: true}}").events.mqtt.tls)
    assert relaxed.verify_mode == ssl.CERT_REQUIRED and not relaxed.check_hostname


def test_changing_tls_restarts_only_the_event_sinks():
    plan = plan_reload(config("{host: b}"), config("{host: b, tls: true}"))
    assert plan.restart_events and not (plan.start or plan.stop or plan.restart_worker or plan.restart_web)
