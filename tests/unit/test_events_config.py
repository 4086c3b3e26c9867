"""The events and privacy sections: defaults, validation, and what a reload does with them."""

from __future__ import annotations

import pytest

from facedaemon.config import ConfigError
from facedaemon.daemon.reload import plan_reload
from facedaemon.events.sinks import describe_url
from tests.config_text import TWO_CAMERAS, config


def test_defaults_log_only_and_no_blur():
    loaded = config()
    assert loaded.events.log and loaded.events.webhook.url is None and loaded.events.mqtt.host is None
    assert loaded.events.mqtt.port == 1883 and loaded.events.mqtt.topic_prefix == "facedaemon"
    assert loaded.events.mqtt.discovery_prefix == "homeassistant" and loaded.events.unknown_visitors == ()
    assert loaded.notices == ()
    assert loaded.privacy.blur_unknown is False


def test_full_events_section():
    loaded = config("events: {webhook: {url: 'https://hooks.example/x?t=${env:T}', timeout: 2},"
                    " mqtt: {host: broker, port: 1884, username: ha, password: '${cred:mqtt}'},"
                    " unknown_visitors: [door]}\nprivacy: {blur_unknown: true}\n")
    assert loaded.events.webhook.timeout == 2 and loaded.events.mqtt.password == "${cred:mqtt}"
    assert loaded.privacy.blur_unknown and loaded.events.unknown_visitors == ("door",) and loaded.notices == ()


def test_the_old_include_unknown_still_reports_unknown_visitors_on_every_camera_with_one_notice():
    loaded = config("events:\n  log: true\n  include_unknown: true\n")
    assert loaded.events.unknown_visitors == ("door", "yard")
    assert loaded.notices == ("c.yaml:3: events.include_unknown: deprecated: read as events.unknown_visitors: "
                              "[door, yard] (every camera); write that instead, or list only the cameras that should "
                              "report strangers",)


@pytest.mark.parametrize(("events", "visitors", "says"), [
    ("{include_unknown: false}", (), "remove it"),
    ("{include_unknown: true, unknown_visitors: [yard]}", ("yard",), "ignored since events.unknown_visitors is set"),
])
def test_the_old_key_beside_or_without_the_new_one_is_one_notice(events, visitors, says):
    loaded = config(f"events: {events}\n")
    assert loaded.events.unknown_visitors == visitors
    assert len(loaded.notices) == 1 and "c.yaml:1: events.include_unknown: deprecated" in loaded.notices[0]
    assert says in loaded.notices[0]


@pytest.mark.parametrize(("extra", "message"), [
    ("events: {webhook: {url: 'ftp://x'}}\n", "events.webhook.url: must start with http:// or https://"),
    ("events: {mqtt: {topic_prefix: 'a/#'}}\n", "events.mqtt.topic_prefix: must be an MQTT topic"),
    ("events: {mqtt: {port: 0}}\n", "events.mqtt.port: must be at least 1"),
    ("events: {mqtt: {hots: x}}\n", "unknown key 'hots' (did you mean 'host'?)"),
    ("privacy: {blur: true}\n", "privacy.blur: unknown key"),
    ("events: {unknown_visitors: [door, gate]}\n",
     "c.yaml:1: events.unknown_visitors.1: 'gate' is not a camera of this file (cameras: door, yard)"),
    ("events: {unknown_visitors: door}\n", "events.unknown_visitors: must be a list"),
    ("events: {include_unknown: 'yes'}\n", "events.include_unknown: must be true or false (got 'yes'); it is "
                                           "deprecated: use events.unknown_visitors"),
])
def test_bad_values_name_the_key(extra, message):
    with pytest.raises(ConfigError) as caught:
        config(extra)
    assert message in str(caught.value)


def test_reload_restarts_event_sinks_only_for_events():
    plan = plan_reload(config(), config("events: {mqtt: {host: broker}}\n"))
    assert plan.restart_events and not (plan.start or plan.restart_worker or plan.restart_web)
    assert plan.describe() == "restart events"


def test_reload_applies_privacy_live():
    plan = plan_reload(config(), config("privacy: {blur_unknown: true}\n"))
    assert plan.live == {"privacy"} and not (plan.start or plan.restart_events)


def test_a_new_recognising_camera_restarts_the_sinks_for_discovery():
    plan = plan_reload(config(), config(base=TWO_CAMERAS + "  c: {source: pattern}\n"))
    assert plan.restart_events and plan.start == {"c"}


def test_webhook_urls_are_logged_without_path_or_query():
    assert describe_url("https://user:pw@hooks.example:8443/secret/path?token=x") == "https://hooks.example:8443"


def test_reload_of_unknown_visitors_restarts_only_the_event_sinks():
    plan = plan_reload(config(), config("events: {unknown_visitors: [door]}\n"))
    assert plan.restart_events and not (plan.start or plan.stop or plan.restart_worker or plan.restart_web)
