"""The RTSP settings: per camera (on/off, path) and the server's (listen, python)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from facedaemon.config import ConfigError, load_text

BASE = Path("/srv/facedaemon/etc")


def load_yaml(text: str):
    return load_text(textwrap.dedent(text), source="cfg.yaml", base_dir=BASE)


def errors_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_yaml(text)
    return str(caught.value)


def config_with(door: str, top: str = "") -> str:
    return f"faces_dir: faces\nruntime_dir: run\n{top}cameras:\n  door:\n    source: pattern\n{door}"


def test_off_by_default_with_loopback_server() -> None:
    config = load_yaml(config_with(""))
    door = config.camera("door")
    assert door.rtsp.enabled is False
    assert door.rtsp_path == "door"
    assert config.rtsp.listen == "127.0.0.1:8554"
    assert (config.rtsp.host, config.rtsp.port) == ("127.0.0.1", 8554)
    assert config.rtsp.python == "/usr/bin/python3"


@pytest.mark.parametrize(("value", "enabled"), [("true", True), ("false", False), ("{enabled: true}", True)])
def test_true_false_shorthand(value: str, enabled: bool) -> None:
    door = load_yaml(config_with(f"    rtsp: {value}\n")).camera("door")
    assert door.rtsp.enabled is enabled
    assert door.rtsp_path == "door"


def test_path_and_server_settings() -> None:
    config = load_yaml(config_with("    rtsp: {enabled: true, path: /cams/front-door/}\n",
                                   'rtsp: {listen: "0.0.0.0:9554", python: /opt/gst/bin/python3}\n'))
    assert config.camera("door").rtsp_path == "cams/front-door"
    assert (config.rtsp.host, config.rtsp.port) == ("0.0.0.0", 9554)
    assert config.rtsp.python == "/opt/gst/bin/python3"


@pytest.mark.parametrize("path", ["../etc", "a b", "door?x=1", "", "/", "a//b", "-door", "x" * 129])
def test_bad_paths_name_the_key(path: str) -> None:
    message = errors_of(config_with(f"    rtsp: {{enabled: true, path: {path!r}}}\n"))
    assert "cameras.door.rtsp.path" in message and "e.g. door" in message


@pytest.mark.parametrize("listen", ["8554", "host:", ":8554", "0.0.0.0:0", "0.0.0.0:70000", "0.0.0.0:x"])
def test_bad_listen(listen: str) -> None:
    message = errors_of(config_with("", f"rtsp: {{listen: {listen!r}}}\n"))
    assert "rtsp.listen" in message and "host:port" in message


def test_unknown_keys_get_suggestions() -> None:
    assert "did you mean 'enabled'" in errors_of(config_with("    rtsp: {enable: true}\n"))
    assert "did you mean 'listen'" in errors_of(config_with("", "rtsp: {listn: '0.0.0.0:8554'}\n"))
    assert "must be true or false" in errors_of(config_with("    rtsp: {enabled: maybe}\n"))


def test_two_cameras_cannot_share_a_path() -> None:
    text = config_with("    rtsp: {enabled: true, path: cam}\n") + "  cam:\n    source: pattern\n    rtsp: true\n"
    message = errors_of(text)
    assert "door and cam both serve rtsp path 'cam'" in message
    # the same path is fine while one of them is off
    load_yaml(config_with("    rtsp: {enabled: false, path: cam}\n") + "  cam:\n    source: pattern\n    rtsp: true\n")


def test_rtsp_port_must_differ_from_http() -> None:
    top = 'http: {listen: "127.0.0.1:8554"}\n'
    assert "cannot share port 8554" in errors_of(config_with("    rtsp: true\n", top))
    load_yaml(config_with("", top))  # no camera serves RTSP: no server, no clash


def rtsp_camera(more: str = "") -> str:
    return f"faces_dir: faces\nruntime_dir: run\ncameras:\n  door:\n    source: rtsp://192.0.2.10/s\n{more}"


def test_a_camera_is_fetched_over_tcp_unless_it_says_udp() -> None:
    assert load_yaml(rtsp_camera()).camera("door").rtsp_transport == "tcp"
    assert load_yaml(rtsp_camera("    rtsp_transport: udp\n")).camera("door").rtsp_transport == "udp"


def test_a_wrong_transport_names_the_camera_and_key() -> None:
    assert "cameras.door.rtsp_transport: must be one of 'tcp' or 'udp'" in errors_of(
        rtsp_camera("    rtsp_transport: http\n"))
    assert "rtsp_transport: udp applies to rtsp:// sources only, this camera's source is pattern" in errors_of(
        config_with("    rtsp_transport: udp\n"))


def test_the_factory_hands_the_transport_to_the_source() -> None:
    from facedaemon.sources.factory import make_source

    source = make_source(load_yaml(rtsp_camera("    rtsp_transport: udp\n")).camera("door"))
    assert source.transport == "udp"
