"""Config loader: YAML shape -> typed models, and every way a file can be wrong -> one clear line each."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from facedaemon.config import (
    Config,
    ConfigError,
    EncoderConfig,
    HlsConfig,
    HttpConfig,
    MetricsConfig,
    RecognitionConfig,
    SourceKind,
    load,
    load_text,
)

REPO = Path(__file__).resolve().parents[2]
BASE = Path("/srv/facedaemon/etc")  # need not exist: paths are resolved lexically
MINIMAL = "faces_dir: faces\nruntime_dir: run\ncameras:\n  cam:\n    source: pattern\n"


def load_yaml(text: str, base_dir: Path = BASE) -> Config:
    return load_text(textwrap.dedent(text), source="cfg.yaml", base_dir=base_dir)


def errors_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_yaml(text)
    return str(caught.value)


def with_camera(settings: str) -> str:
    """MINIMAL with camera 'door' (key on line 4, its settings from line 5) given ``settings``."""
    body = textwrap.indent(textwrap.dedent(settings), "    ")
    return f"faces_dir: faces\nruntime_dir: run\ncameras:\n  door:\n{body}"


# ---------------------------------------------------------------------------------------------- good files


def test_default_config_file_loads() -> None:
    config = load(REPO / "etc" / "facedaemon.yaml")
    assert config.faces_dir == REPO / "faces"
    assert config.runtime_dir == REPO / "run"
    assert config.http.listen == "127.0.0.1:8080"
    assert [camera.name for camera in config.cameras] == ["demo"]
    demo = config.camera("demo")
    assert demo.source.kind is SourceKind.PATTERN
    assert (demo.width, demo.height, demo.fps) == (1280, 720, 30)
    assert demo.enabled


def test_defaults() -> None:
    config = load_yaml(MINIMAL)
    assert config.cache_dir is None
    assert config.encodings_cache_dir == BASE / "faces" / ".facedaemon-cache"
    assert config.log_level == "info"
    assert (config.http, config.recognition, config.hls) == (HttpConfig(), RecognitionConfig(), HlsConfig())
    assert (config.encoder, config.metrics) == (EncoderConfig(), MetricsConfig())
    camera = config.camera("cam")
    assert (camera.enabled, camera.recognize, camera.loop) == (True, True, False)
    assert (camera.width, camera.height, camera.fps) == (None, None, None)


def test_every_section_is_read() -> None:
    config = load_yaml(
        """
        faces_dir: f
        runtime_dir: r
        cache_dir: c
        log_level: debug
        http: {listen: 0.0.0.0:9000, workers: 2, threads: 4}
        recognition: {model: cnn, scale: 0.5, tolerance: 0.5, upsample: 0, recheck_seconds: 2}
        hls: {segment_seconds: 2, playlist_size: 10}
        encoder: {codec: h264_v4l2m2m, preset: fast, bitrate: 2M, crf: 30, ffmpeg: /usr/bin/ffmpeg}
        metrics: {person_labels: true}
        auth: {enabled: false}
        cameras:
          a: {source: pattern, enabled: false, recognize: false, width: 640, height: 480, fps: 12.5}
          b: {source: clip.mp4, loop: true}
        """
    )
    assert config.cache_dir == BASE / "c"
    assert config.http.port == 9000 and config.http.workers == 2
    assert config.recognition.model == "cnn" and config.recognition.recheck_seconds == 2.0
    assert config.hls.playlist_size == 10
    assert config.encoder.bitrate == "2M" and config.encoder.ffmpeg == "/usr/bin/ffmpeg"
    assert config.metrics.person_labels is True
    assert [camera.name for camera in config.cameras] == ["a", "b"]  # file order kept
    assert config.camera("a").enabled is False  # disabled cameras stay in the config
    assert config.camera("b").loop is True


@pytest.mark.parametrize(
    ("source", "kind", "uri"),
    [
        ("pattern", SourceKind.PATTERN, "default"),
        ("pattern:bars", SourceKind.PATTERN, "bars"),
        ("0", SourceKind.V4L2, "0"),
        ("2", SourceKind.V4L2, "2"),
        ("/dev/video0", SourceKind.V4L2, "/dev/video0"),
        ("/dev/v4l/by-id/usb-cam-video-index0", SourceKind.V4L2, "/dev/v4l/by-id/usb-cam-video-index0"),
        ("rtsp://192.0.2.10:554/stream1", SourceKind.RTSP, "rtsp://192.0.2.10:554/stream1"),
        ("rtsp://user:pass@192.0.2.10/s", SourceKind.RTSP, "rtsp://user:pass@192.0.2.10/s"),
        ("RTSPS://cam.local/live", SourceKind.RTSP, "RTSPS://cam.local/live"),
        ("videos/hall.mp4", SourceKind.FILE, str(BASE / "videos" / "hall.mp4")),
        ("../videos/hall.mp4", SourceKind.FILE, str(BASE.parent / "videos" / "hall.mp4")),
        ("/data/clip.mkv", SourceKind.FILE, "/data/clip.mkv"),
        ("'./pattern'", SourceKind.FILE, str(BASE / "pattern")),
        ("{kind: file, uri: a.mp4}", SourceKind.FILE, str(BASE / "a.mp4")),
        ("{kind: v4l2, uri: 1}", SourceKind.V4L2, "1"),
        ("{kind: rtsp, uri: 'rtsp://h/x'}", SourceKind.RTSP, "rtsp://h/x"),
        ("{kind: pattern, uri: bars}", SourceKind.PATTERN, "bars"),
    ],
)
def test_source_classification(source: str, kind: SourceKind, uri: str) -> None:
    camera = load_yaml(with_camera(f"source: {source}")).camera("door")
    assert (camera.source.kind, camera.source.uri) == (kind, uri)


def test_missing_video_file_is_not_a_load_error(tmp_path: Path) -> None:
    camera = load_yaml(with_camera("source: nowhere/none.mp4"), base_dir=tmp_path).camera("door")
    assert camera.source.uri == str(tmp_path / "nowhere" / "none.mp4")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("faces", "etc/faces"),
        ("../faces", "faces"),
        ("./a/../b", "etc/b"),
        ("/abs/faces", "/abs/faces"),
        ("~/faces", "HOME/faces"),
    ],
)
def test_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, expected: str
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    (tmp_path / "etc").mkdir()
    config_file = tmp_path / "etc" / "facedaemon.yaml"
    config_file.write_text(
        f"faces_dir: {written}\nruntime_dir: {written}\ncache_dir: {written}\n"
        f"cameras:\n  clip:\n    source: {written}\n"
    )
    if expected.startswith("/"):
        want = Path(expected)
    elif expected.startswith("HOME/"):
        want = home / expected.removeprefix("HOME/")
    else:
        want = tmp_path / expected
    config = load(config_file)
    assert config.faces_dir == config.runtime_dir == config.cache_dir == want
    assert config.camera("clip").source.uri == str(want)


def test_relative_config_path_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "c.yaml").write_text(MINIMAL.replace("faces_dir: faces", "faces_dir: ../faces"))
    monkeypatch.chdir(tmp_path)
    config = load("etc/c.yaml")
    assert config.faces_dir == tmp_path / "faces"
    assert config.faces_dir.is_absolute()


# ---------------------------------------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            with_camera("source: pattern\nfps: -5"),
            "cfg.yaml:6: cameras.door.fps: must be greater than 0 (got -5)",
        ),
        (
            with_camera("source: pattern\nfps: 500"),
            "cfg.yaml:6: cameras.door.fps: must be at most 240 (got 500)",
        ),
        (
            with_camera("source: pattern\nwidth: 8"),
            "cfg.yaml:6: cameras.door.width: must be at least 16 (got 8)",
        ),
        (
            with_camera("source: pattern\nwidth: 10.5"),
            "cfg.yaml:6: cameras.door.width: must be a whole number (got 10.5)",
        ),
        (
            with_camera("source: pattern\nenabled: maybe"),
            "cfg.yaml:6: cameras.door.enabled: must be true or false (got 'maybe')",
        ),
        (with_camera("fps: 5"), "cfg.yaml:4: cameras.door.source: required key is missing"),
        (
            with_camera("source: 1.5"),
            "cfg.yaml:5: cameras.door.source: must be a device path or index, an rtsp:// URL, "
            "a file path or 'pattern' (got 1.5)",
        ),
        (
            with_camera("source: -1"),
            "cfg.yaml:5: cameras.door.source: a device index must be 0 or more (got -1)",
        ),
        (with_camera("source: ''"), "cfg.yaml:5: cameras.door.source: must not be empty (got '')"),
        (
            with_camera("source: http://cam/x"),
            "cfg.yaml:5: cameras.door.source: unsupported URL scheme 'http' (use rtsp:// or rtsps://)",
        ),
        (
            with_camera("source: {kind: usb, uri: x}"),
            "cfg.yaml:5: cameras.door.source.kind: must be one of 'v4l2', 'rtsp', 'file' or 'pattern' "
            "(got 'usb')",
        ),
        (
            "faces_dir: f\nruntime_dir: r\ncameras:\n  door: pattern\n",
            "cfg.yaml:4: cameras.door: must be a mapping of settings such as 'source: pattern' "
            "(got 'pattern')",
        ),
        ("faces_dir: f\nruntime_dir: r\ncameras:\n  door:\n", "cfg.yaml:4: cameras.door: must be a mapping"),
        (
            "faces_dir: f\nruntime_dir: r\ncameras: {}\n",
            "cfg.yaml:3: cameras: at least one camera is required",
        ),
        (
            "faces_dir: f\nruntime_dir: r\ncameras: []\n",
            "cfg.yaml:3: cameras: must be a mapping of camera name",
        ),
        ("faces_dir: f\nruntime_dir: r\n", "cfg.yaml:1: cameras: required key is missing"),
        ("runtime_dir: r\n" + MINIMAL.split("\n", 2)[2], "cfg.yaml:1: faces_dir: required key is missing"),
        (MINIMAL + "log_level: loud\n", "cfg.yaml:6: log_level: must be one of 'debug', 'info', 'warning'"),
        (MINIMAL + "http: 5\n", "cfg.yaml:6: http: must be a mapping of settings (got 5)"),
        (MINIMAL + "http:\n  workers: 0\n", "cfg.yaml:7: http.workers: must be at least 1 (got 0)"),
        (
            MINIMAL + "recognition: {model: fast}\n",
            "cfg.yaml:6: recognition.model: must be one of 'blazeface', 'hog' or 'cnn'",
        ),
        (MINIMAL + "recognition:\n  scale: 2\n", "cfg.yaml:7: recognition.scale: must be at most 1 (got 2)"),
        (MINIMAL + "hls:\n  playlist_size: 1\n", "cfg.yaml:7: hls.playlist_size: must be at least 2 (got 1)"),
        (MINIMAL + "encoder:\n  crf: x\n", "cfg.yaml:7: encoder.crf: must be a whole number (got 'x')"),
        (MINIMAL.replace("faces_dir: faces", "faces_dir: ''"), "cfg.yaml:1: faces_dir: must not be empty"),
        (
            MINIMAL.replace("faces_dir: faces", "faces_dir: [a]"),
            "cfg.yaml:1: faces_dir: must be a path (got a list)",
        ),
        (
            MINIMAL.replace("faces_dir: faces", 'faces_dir: "a\\0b"'),
            "cfg.yaml:1: faces_dir: must not contain a NUL character (got 'a\\x00b')",
        ),
        (MINIMAL + "1: x\n", "cfg.yaml:6: 1: keys must be text (got 1)"),
        (MINIMAL + "cameras2: 7\n", "cfg.yaml:6: cameras2: unknown key 'cameras2' (did you mean 'cameras'?)"),
    ],
)
def test_bad_values_name_file_line_key_and_value(text: str, message: str) -> None:
    assert message in errors_of(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "fpss: 3\n", "cfg.yaml:6: fpss: unknown key 'fpss'"),
        (
            MINIMAL + "log_levle: info\n",
            "cfg.yaml:6: log_levle: unknown key 'log_levle' (did you mean 'log_level'?)",
        ),
        (
            MINIMAL + "http:\n  listne: x\n",
            "cfg.yaml:7: http.listne: unknown key 'listne' (did you mean 'listen'?)",
        ),
        (MINIMAL + "hls:\n  zzz: 1\n", "cfg.yaml:7: hls.zzz: unknown key 'zzz'"),
        (
            with_camera("source: pattern\nfpss: 3"),
            "cfg.yaml:6: cameras.door.fpss: unknown key 'fpss' (did you mean 'fps'?)",
        ),
        (
            with_camera("source: {kind: file, url: a.mp4}"),
            "cfg.yaml:5: cameras.door.source.url: unknown key 'url' (did you mean 'uri'?)",
        ),
        (
            with_camera("source: pattern\nname: other"),
            "cfg.yaml:6: cameras.door.name: unknown key 'name' (a camera's name is its key under 'cameras')",
        ),
    ],
)
def test_unknown_keys(text: str, message: str) -> None:
    assert message in errors_of(text)


def test_unknown_key_without_close_match_has_no_suggestion() -> None:
    assert errors_of(MINIMAL + "hls:\n  zzz: 1\n").endswith("unknown key 'zzz'")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "faces_dir: other\n", "cfg.yaml:6: faces_dir: duplicate key (first given on line 1)"),
        (
            MINIMAL + "  cam:\n    source: 0\n",
            "cfg.yaml:6: cameras.cam: duplicate key (first given on line 4)",
        ),
        (
            with_camera("source: pattern\nfps: 1\nfps: 2"),
            "cfg.yaml:7: cameras.door.fps: duplicate key (first given on line 6)",
        ),
        ("a: 1\n'1': 2\n1: 3\n", "cfg.yaml:3: 1: duplicate key (first given on line 2)"),
    ],
)
def test_duplicate_keys_are_errors(text: str, message: str) -> None:
    assert message in errors_of(text)


def test_merge_keys_are_not_duplicates() -> None:
    config = load_yaml(
        """
        faces_dir: f
        runtime_dir: r
        cameras:
          a: &common {source: pattern, fps: 10, width: 320}
          b:
            <<: *common
            fps: 20
        """
    )
    assert (config.camera("b").fps, config.camera("b").width) == (20, 320)


def test_merged_settings_report_the_line_that_took_effect() -> None:
    text = (
        "faces_dir: f\nruntime_dir: r\ncameras:\n  a: &common {source: pattern, fps: 10}\n"
        "  b:\n    <<: *common\n    fps: -1\n"
    )
    assert errors_of(text) == "cfg.yaml:7: cameras.b.fps: must be greater than 0 (got -1)"


@pytest.mark.parametrize(
    "listen", ["nope", "127.0.0.1", ":8080", "host:", "host:0", "host:65536", "host:http", "1.2.3.4:-1"]
)
def test_bad_listen(listen: str) -> None:
    message = errors_of(MINIMAL + f"http:\n  listen: '{listen}'\n")
    assert (
        f"cfg.yaml:7: http.listen: must be host:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080 (got '{listen}')"
        in (message)
    )


@pytest.mark.parametrize("listen", ["127.0.0.1:8080", "0.0.0.0:1", "[::1]:8080", "localhost:65535"])
def test_good_listen(listen: str) -> None:
    auth = "auth: {enabled: false}\n"  # beyond loopback needs a login or an explicit opt-out
    assert load_yaml(MINIMAL + f"http:\n  listen: '{listen}'\n" + auth).http.listen == listen


@pytest.mark.parametrize(
    "name", ["'../x'", "'a b'", "-lead", "_lead", "'a/b'", "'x.y'", "'status.json'", "a" * 65, "'é'", "''"]
)
def test_bad_camera_names(name: str) -> None:
    text = f"faces_dir: f\nruntime_dir: r\ncameras:\n  ok:\n    source: 0\n  {name}:\n    source: pattern\n"
    message = errors_of(text)
    assert message.startswith("cfg.yaml:6: cameras.")
    assert "camera names use letters, digits, '_' and '-'" in message


@pytest.mark.parametrize("name", ["a", "A-1", "door_2", "0", "x" * 64])
def test_good_camera_names(name: str) -> None:
    text = f"faces_dir: f\nruntime_dir: r\ncameras:\n  {name}:\n    source: pattern\n"
    assert load_yaml(text).cameras[0].name == name


@pytest.mark.parametrize(
    "text",
    [
        with_camera("source: rtsp://admin:hunter2@192.0.2.10/s\nfps: rtsp://admin:hunter2@192.0.2.10/s"),
        with_camera("source: http://admin:hunter2@192.0.2.10/s"),
        MINIMAL + "http:\n  listen: 'rtsp://admin:hunter2@h'\n",
        with_camera("source: {kind: nope, uri: x}\nwidth: 'rtsps://admin:hunter2@h/s'"),
        MINIMAL + "encoder:\n  crf: 'rtsp://admin:hunter2@host/x'\n",
        MINIMAL + "'rtsp://admin:hunter2@h/x': 1\n",
    ],
)
def test_credentials_are_masked_in_messages(text: str) -> None:
    message = errors_of(text)
    assert "hunter2" not in message and "admin" not in message
    assert "://***@" in message


def test_every_problem_is_reported_in_file_order() -> None:
    text = (
        "faces_dir: f\nruntime_dir: r\nhttp: {workers: 0}\ncameras:\n"
        "  'a b': {source: pattern}\n  good: {source: pattern, fps: 0}\nbogus: 1\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_yaml(text)
    problems = caught.value.problems
    assert [(p.line, p.path) for p in problems] == [
        (3, "http.workers"),
        (5, "cameras.a b"),
        (6, "cameras.good.fps"),
        (7, "bogus"),
    ]
    assert str(caught.value).count("\n") == 3


# ---------------------------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "c.yaml: file is empty"),
        (b"# only a comment\n", "c.yaml: file is empty"),
        (b"---\n", "c.yaml: file is empty"),
        (b"- a\n- b\n", "c.yaml:1: the top level must be a mapping of settings"),
        (
            b"just text\n",
            "c.yaml:1: the top level must be a mapping of settings such as 'faces_dir: ...' (got 'just",
        ),
        (b"faces_dir: a\n\xff\xfe\n", "c.yaml:2: not UTF-8 text (byte 0xff)"),
        (b"faces_dir: [a\nruntime_dir: b\n", "c.yaml:2: YAML syntax error: expected ',' or ']'"),
        (b"a:\n  b: 1\n c: 2\n", "c.yaml:3: YAML syntax error: expected <block end>"),
        (b"a: 'unterminated\n", "c.yaml:2: YAML syntax error: found unexpected end of stream"),
        (b"a:\tb: c\n", "c.yaml:1: YAML syntax error"),
        (b"a: *nothing\n", "c.yaml:1: YAML syntax error: found undefined alias 'nothing'"),
        (
            b"a: !!python/object/apply:os.system ['true']\n",
            "c.yaml:1: cannot load: could not determine a constructor",
        ),
        (b"a: 2001-13-01\n", "c.yaml:1: cannot load: invalid value: month must be in 1..12"),
        (b"a: 0x" + b"f" * 5000 + b"\n", "c.yaml:1: cannot load: number too large"),
        (b"\n\nx: \x01\n", "c.yaml:3: unacceptable character #x0001"),
        (b"a: " + b"[" * 20000 + b"]" * 20000, "c.yaml: YAML is nested too deeply"),
    ],
)
def test_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    config_file = tmp_path / "c.yaml"
    config_file.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load(config_file)
    assert str(caught.value).startswith(str(tmp_path / message))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found$"):
        load(tmp_path / "nope.yaml")


def test_directory_given(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r": is a directory, not a config file$"):
        load(tmp_path)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (PermissionError(13, "Permission denied"), "c.yaml: permission denied"),
        (OSError(5, "Input/output error"), "c.yaml: cannot read: Input/output error"),
    ],
)
def test_unreadable_file(monkeypatch: pytest.MonkeyPatch, error: OSError, message: str) -> None:
    # Simulated: file modes do not stop root, and tests may run as root.
    def fail(path: Path) -> bytes:
        raise error

    monkeypatch.setattr(sys.modules["facedaemon.config.load"], "_read_config_file", fail)
    with pytest.raises(ConfigError) as caught:
        load("c.yaml")
    assert str(caught.value) == message


def test_file_name_is_shown_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "facedaemon.yaml").write_text(with_camera("source: pattern\nfps: -5"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load("etc/facedaemon.yaml")
    assert str(caught.value) == "etc/facedaemon.yaml:6: cameras.door.fps: must be greater than 0 (got -5)"


def test_utf8_bom_and_bytes_are_accepted() -> None:
    config = load_text(b"\xef\xbb\xbf" + MINIMAL.encode(), source="x", base_dir=BASE)
    assert config.cameras[0].name == "cam"


def test_a_pipe_a_device_or_a_huge_file_is_refused_without_waiting(tmp_path):
    import os
    import time

    from facedaemon.config import ConfigError, load

    fifo = tmp_path / "facedaemon.yaml"
    os.mkfifo(fifo)  # nobody writes: reading it would wait forever (the arbiter loop, on SIGHUP)
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * (2 * 1024 * 1024))
    for path, reason in ((fifo, "not a regular file"), ("/dev/zero", "not a regular file"),
                         (huge, "a config file may be at most 1,048,576")):
        started = time.monotonic()
        with pytest.raises(ConfigError, match=reason):
            load(path)
        assert time.monotonic() - started < 1.0
