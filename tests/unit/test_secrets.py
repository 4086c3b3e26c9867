"""${env:NAME} / ${cred:NAME} placeholders in RTSP URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from facedaemon.config.secrets import SecretError, expand_secrets, has_secrets, read_credential

CREDS = {"door-password": "s3cr%40t", "user.name": "viewer"}


def fake_read(path: Path) -> str:
    if path.parent != Path("/run/credentials/facedaemon.service") or path.name not in CREDS:
        raise FileNotFoundError(2, "No such file or directory", str(path))
    return CREDS[path.name]


def expand(text: str, environ: dict[str, str] | None = None,
           credentials_dir: str | None = "/run/credentials/facedaemon.service") -> str:
    return expand_secrets(text, environ or {}, credentials_dir, read=fake_read)


def test_text_without_placeholders_is_unchanged():
    for text in ("rtsp://cam.local/stream", "rtsp://u:p@cam/x?a=$b", "rtsp://cam/${", "$HOME"):
        assert expand(text) == text
        assert not has_secrets(text)


def test_env_and_cred_are_filled():
    url = "rtsp://${env:CAM_USER}:${cred:door-password}@192.0.2.10:554/stream1"
    assert has_secrets(url)
    assert expand(url, {"CAM_USER": "viewer"}) == "rtsp://viewer:s3cr%40t@192.0.2.10:554/stream1"


def test_several_placeholders_and_dotted_credential_names():
    assert expand("${cred:user.name}/${env:A}/${env:A}", {"A": "x"}) == "viewer/x/x"


def test_values_are_inserted_literally():
    assert expand("${env:P}", {"P": r"a\1b\g<0>$"}) == r"a\1b\g<0>$"


@pytest.mark.parametrize(("text", "environ", "creds_dir", "message"), [
    ("${env:MISSING}", {}, "/x", "environment variable MISSING is not set"),
    ("${env:1BAD}", {}, "/x", "not a valid environment variable name"),
    ("${env:}", {}, "/x", "not a valid environment variable name"),
    ("${cred:nope}", {}, "/run/credentials/facedaemon.service", "cannot read credential"),
    ("${cred:../etc/shadow}", {}, "/run/credentials/facedaemon.service", "not a valid credential name"),
    ("${cred:a/b}", {}, "/run/credentials/facedaemon.service", "not a valid credential name"),
    ("${cred:door-password}", {}, None, "$CREDENTIALS_DIRECTORY is not set"),
    ("${file:/etc/passwd}", {}, "/x", "unknown placeholder"),
    ("${ENV:A}", {"A": "x"}, "/x", "unknown placeholder"),
    ("${A}", {"A": "x"}, "/x", "unknown placeholder"),
])
def test_errors_name_the_placeholder(text, environ, creds_dir, message):
    with pytest.raises(SecretError) as error:
        expand_secrets(f"rtsp://u:{text}@h/", environ, creds_dir, read=fake_read)
    assert message in str(error.value)
    assert text in str(error.value)


def test_error_never_contains_a_secret_value():
    with pytest.raises(SecretError) as error:
        expand("${env:CAM_PASS}:${env:MISSING}", {"CAM_PASS": "hunter2"})
    assert "hunter2" not in str(error.value)


def test_read_credential_drops_one_trailing_newline(tmp_path):
    (tmp_path / "pw").write_text("secret\n")
    (tmp_path / "two").write_text("secret\n\n")
    assert read_credential(tmp_path / "pw") == "secret"
    assert read_credential(tmp_path / "two") == "secret\n"
    assert expand_secrets("${cred:pw}", {}, tmp_path) == "secret"


def rtsp_camera(uri: str):
    from facedaemon.config.models import CameraConfig, SourceConfig, SourceKind

    return CameraConfig(name="door", source=SourceConfig(kind=SourceKind.RTSP, uri=uri))


def test_factory_fills_rtsp_secrets_but_describes_the_placeholder(monkeypatch, tmp_path):
    from facedaemon.sources.factory import make_source
    from facedaemon.sources.rtsp import RtspSource

    (tmp_path / "door-password").write_text("hunter2\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.setenv("CAM_TOKEN", "tok3n")
    source = make_source(rtsp_camera("rtsp://viewer:${cred:door-password}@192.0.2.10/s?token=${env:CAM_TOKEN}"))
    assert isinstance(source, RtspSource)
    assert source.uri == "rtsp://viewer:hunter2@192.0.2.10/s?token=tok3n"
    assert source.description == "rtsp://***@192.0.2.10/s?token=${env:CAM_TOKEN}"


def test_factory_turns_a_missing_secret_into_a_source_error(monkeypatch):
    from facedaemon.sources.base import SourceError
    from facedaemon.sources.factory import make_source

    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("CAM_USER", "viewer")
    source = make_source(rtsp_camera("rtsp://${env:CAM_USER}:${cred:door-password}@192.0.2.10/s"))
    with pytest.raises(SourceError) as error:
        source.open()
    assert "${cred:door-password}" in str(error.value) and "rtsp://***@192.0.2.10/s" in str(error.value)
    assert "viewer" not in str(error.value) and "viewer" not in source.description
