"""The web app against a hand-made runtime directory: page, HLS files, API, health, metrics, hardening."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client import CONTENT_TYPE_LATEST

from facedaemon.runtime.status import parse_status, unhealthy_reasons
from facedaemon.web.app import MAX_CONTENT_LENGTH
from tests.realparts import require_program

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "facedaemon" / "web" / "static"
# The camera page's ES modules: the page, its two players and the MSE helpers they share.
PAGE_MODULES = ("cameras.js", "hls-player.js", "live-player.js", "mse.js")
CAMERAS = ("front", "back")
SECRET = b"TOP-SECRET-3f9c1e7a-do-not-serve"
PLAYLIST = (
    b"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:1\n"
    b'#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1.000000,\nseg_00001.m4s\n'
)
INIT = b"\x00\x00\x00\x18ftypiso5" + b"avcC\x01\x64\x00\x1f" + b"init-bytes"
SEGMENT = b"\x00\x00\x00\x10moof" + b"segment-bytes" * 10
METRICS = (
    b"# HELP facedaemon_camera_up up\n# TYPE facedaemon_camera_up gauge\n"
    b'facedaemon_camera_up{camera="front"} 1.0\n'
)


def camera_entry(state: str = "streaming", **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "state": state,
        "reason": None,
        "source": "pattern:smpte",
        "fps_in": 15.2,
        "fps_out": 14.8,
        "last_frame": time.time(),
        "width": 640,
        "height": 480,
        "faces": [
            {"name": "Taylor", "confidence": 0.93, "distance": 0.31, "box": [10, 120, 110, 20], "track": 4},
            {"name": "Unknown", "confidence": 0.12, "distance": None, "box": [20, 30, 29, 21], "track": 5,
             "not_judged": "turned away (yaw 50°, at most 35)"},
        ],
        "faces_time": time.time(),
    }
    entry.update(overrides)
    return entry


def write_status(runtime: Path, cameras: Any = None, *, updated: float | None = None) -> None:
    now = time.time()
    document = {
        "device": "pi-front",
        "pid": 4242,
        "updated": now if updated is None else updated,
        "started": now - 100,
        "cameras": {name: camera_entry() for name in CAMERAS} if cameras is None else cameras,
    }
    (runtime / "status.json").write_text(json.dumps(document))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the runtime dir with a secret the web app must never serve."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(SECRET)
    (folder / "index.m3u8").write_bytes(SECRET)
    (folder / "seg_00001.m4s").write_bytes(SECRET)
    return folder


@pytest.fixture
def runtime(tmp_path: Path, outside: Path) -> Path:
    root = tmp_path / "run"
    front = root / "front"
    front.mkdir(parents=True)
    (front / "index.m3u8").write_bytes(PLAYLIST)
    (front / "init.mp4").write_bytes(INIT)
    (front / "seg_00001.m4s").write_bytes(SEGMENT)
    (root / "back").mkdir()
    (root / "secret.txt").write_bytes(SECRET)
    # Planted links: a segment name pointing out of the camera folder, and a camera folder that is a link.
    (front / "seg_00002.m4s").symlink_to(outside / "secret.txt")
    (front / "seg_00003.m4s").symlink_to(Path("..") / "secret.txt")
    (root / "back" / "index.m3u8").symlink_to(outside / "index.m3u8")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    # Files for a camera that is not configured.
    (root / "other").mkdir()
    (root / "other" / "index.m3u8").write_bytes(SECRET)
    write_status(root)
    (root / "metrics.prom").write_bytes(METRICS)
    return root


@pytest.fixture
def client(runtime: Path, make_client) -> FlaskClient:
    return make_client(runtime_dir=runtime, cameras=(*CAMERAS, "linked"))


# ------------------------------------------------------------------------------------------------ page


def test_page_shows_every_camera(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for camera in CAMERAS:
        assert f'data-camera="{camera}"' in html
        assert f"/hls/{camera}/index.m3u8" in html
        assert f"/api/cameras/{camera}/faces" in html
    assert html.count("<video muted autoplay playsinline>") == len(CAMERAS) + 1
    assert '<script type="module" src="/static/cameras.js">' in html
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/([^"]+)">', html))
    assert preloaded == set(PAGE_MODULES) - {"cameras.js"}, "the modules cameras.js imports are preloaded"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_page_without_cameras(runtime: Path, make_client) -> None:
    client = make_client(runtime_dir=runtime, cameras=())
    response = client.get("/")
    assert response.status_code == 200
    assert b"No camera is enabled" in response.data


def test_static_files_served(client: FlaskClient) -> None:
    # A browser runs a module only when it comes with a JavaScript media type.
    for name, kind in (*((module, "javascript") for module in PAGE_MODULES), ("style.css", "text/css")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert kind in response.content_type


# ------------------------------------------------------------------------------------------------ HLS


@pytest.mark.parametrize(
    ("name", "body", "content_types"),
    [
        ("index.m3u8", PLAYLIST, {"application/vnd.apple.mpegurl"}),
        ("init.mp4", INIT, {"video/mp4", "video/iso.segment"}),
        ("seg_00001.m4s", SEGMENT, {"video/mp4", "video/iso.segment"}),
    ],
)
def test_hls_files_served(client: FlaskClient, name: str, body: bytes, content_types: set[str]) -> None:
    response = client.get(f"/hls/front/{name}")
    assert response.status_code == 200
    assert response.data == body
    assert response.mimetype in content_types
    assert "no-cache" in response.headers["Cache-Control"]


def test_hls_head_request(client: FlaskClient) -> None:
    response = client.head("/hls/front/index.m3u8")
    assert response.status_code == 200
    assert response.content_length == len(PLAYLIST)


@pytest.mark.parametrize(
    "path",
    [
        "/hls/nope/index.m3u8",  # unknown camera
        "/hls/other/index.m3u8",  # folder exists but camera not configured
        "/hls/back/init.mp4",  # configured, not streaming yet
        "/hls/front/seg_00009.m4s",  # allowed name, no such file
        "/hls/front/seg_1.m4s",  # too few digits
        "/hls/front/playlist.m3u8",
        "/hls/front/index.m3u8.tmp",  # ffmpeg's temp_file names
        "/hls/front/",
        "/hls/front",
    ],
)
def test_hls_not_found(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def _traversal_payloads(outside: Path) -> list[str]:
    """Paths below /hls/ that try to reach a file outside a camera folder."""
    ups = ["..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%252e%252e", "%c0%ae%c0%ae", "%u002e%u002e", "...."]
    seps = ["/", "%2f", "%2F", "%252f", "\\", "%5c", "%5C", "//", "/./"]
    targets = ["secret.txt", "status.json", "outside/secret.txt", "etc/passwd"]
    payloads = []
    for up in ups:
        for sep in seps:
            for depth in (1, 3):
                climb = sep.join([up] * depth)
                for camera in ("front", "back"):
                    payloads.append(f"{camera}/{climb}{sep}{targets[depth % len(targets)]}")
                payloads.append(f"front/{climb}{sep}{targets[(depth + 1) % len(targets)]}")
    secret = str(outside / "secret.txt")
    payloads += [
        f"front/{secret}",
        f"front/{secret.lstrip('/')}",
        f"front//{secret}",
        f"front/%2f{secret.lstrip('/').replace('/', '%2f')}",
        "front/%2fetc%2fpasswd",
        "front//etc/passwd",
        "front/etc/passwd",
        "front/C:\\Windows\\win.ini",
        "front/file:%2f%2f%2fetc%2fpasswd",
        "front/index.m3u8%00",
        "front/index.m3u8%00.txt",
        "front/seg_00001.m4s%00/../../secret.txt",
        "front/%00../secret.txt",
        "front/index.m3u8%0a",
        "front/index.m3u8/",
        "front/index.m3u8/..",
        "front/./index.m3u8",
        "front/INDEX.M3U8",
        "front/init.mp4.",
        "front/init.mp4%20",
        "front/..",
        "front/.",
        "front/%2e",
        "front/seg_" + "1" * 5000 + ".m4s",  # matches the allowlist, too long for the filesystem
        "front/" + "a" * 10000,
        "front/" + "../" * 200 + "etc/passwd",
        "front/seg_00002.m4s",  # symlink to the outside secret
        "front/seg_00003.m4s",  # relative symlink to runtime_dir/secret.txt
        "back/index.m3u8",  # symlink out of the camera folder
        "linked/index.m3u8",  # the camera folder itself is a symlink
        "linked/seg_00001.m4s",
        "other/index.m3u8",
        "..%2fother/index.m3u8",
        "front%2f..%2fother/index.m3u8",
        "%2e%2e/secret.txt",
        "../secret.txt",
        "..%5csecret.txt",
        "front\\..\\..\\secret.txt",
    ]
    return payloads


def test_traversal_payloads_never_leak(client: FlaskClient, outside: Path) -> None:
    payloads = _traversal_payloads(outside)
    assert len(payloads) >= 200
    for payload in payloads:
        response = client.get(f"/hls/{payload}", follow_redirects=True)
        assert response.status_code != 500, payload
        assert response.status_code != 200, payload
        assert SECRET not in response.data, payload


def test_planted_symlinks_refused_even_when_target_is_inside(client: FlaskClient, runtime: Path) -> None:
    # A link to a real segment of the same camera is still refused: links are never followed.
    (runtime / "front" / "seg_00004.m4s").symlink_to("seg_00001.m4s")
    assert client.get("/hls/front/seg_00004.m4s").status_code == 404


def test_symlinked_runtime_dir_still_serves(runtime: Path, tmp_path: Path, make_client) -> None:
    # /var/run -> /run and similar: the runtime dir itself may be reached through a link.
    alias = tmp_path / "run-alias"
    alias.symlink_to(runtime, target_is_directory=True)
    client = make_client(runtime_dir=alias, cameras=CAMERAS)
    assert client.get("/hls/front/init.mp4").data == INIT
    assert client.get("/hls/front/seg_00002.m4s").status_code == 404


# ------------------------------------------------------------------------------------------------ health


def test_healthz_ok(runtime: Path, make_client) -> None:
    client = make_client(runtime_dir=runtime, cameras=CAMERAS)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert "pid" not in body  # public: nothing about the process
    assert body["fps"] == {"front": 14.8, "back": 14.8}


def test_healthz_counts_every_configured_camera(client: FlaskClient) -> None:
    # The "linked" camera is configured but absent from status.json.
    assert set(_unhealthy(client)) == {"linked"}


def _unhealthy(client: FlaskClient) -> dict[str, str]:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unhealthy"
    reasons = body["reasons"]
    assert isinstance(reasons, dict) and reasons
    return reasons


def test_healthz_camera_in_error(runtime: Path, make_client) -> None:
    failing = camera_entry("error", reason="cannot open rtsp://192.0.2.10:554/stream1")
    write_status(runtime, {"front": camera_entry(), "back": failing})
    client = make_client(runtime_dir=runtime, cameras=CAMERAS)
    reasons = _unhealthy(client)
    assert set(reasons) == {"back"}
    assert reasons["back"] == "error", "public: the state, never the camera's host or path"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (camera_entry("starting"), "starting"),
        (camera_entry(last_frame=None), "no frame"),
        (camera_entry(last_frame=time.time() - 600), "last frame"),
        ("streaming", "not reported"),  # malformed entry
    ],
)
def test_healthz_camera_not_streaming(runtime: Path, entry: object, expected: str, make_client) -> None:
    write_status(runtime, {"front": camera_entry(), "back": entry})
    client = make_client(runtime_dir=runtime, cameras=CAMERAS)
    reasons = _unhealthy(client)
    assert set(reasons) == {"back"}
    assert expected in reasons["back"]


def test_healthz_camera_missing_from_status(runtime: Path, make_client) -> None:
    write_status(runtime, {"front": camera_entry()})
    client = make_client(runtime_dir=runtime, cameras=CAMERAS)
    assert "not reported" in _unhealthy(client)["back"]


def test_healthz_stale_status(runtime: Path, client: FlaskClient) -> None:
    write_status(runtime, updated=time.time() - 60)
    reasons = _unhealthy(client)
    assert set(reasons) >= set(CAMERAS)
    assert all("not responding" in reason for reason in reasons.values())


def test_healthz_missing_status(runtime: Path, client: FlaskClient) -> None:
    (runtime / "status.json").unlink()
    reasons = _unhealthy(client)
    assert all("not running" in reason for reason in reasons.values())


def test_healthz_without_cameras_still_checks_daemon(runtime: Path, make_client) -> None:
    client = make_client(runtime_dir=runtime, cameras=())
    assert client.get("/healthz").status_code == 200
    (runtime / "status.json").unlink()
    assert "daemon" in _unhealthy(client)


CORRUPT = [
    b"",
    b"{",
    b'{"pid": 1, "updated": 17',  # partial write
    b"not json",
    b"\xff\xfe\x00garbage",
    b"[]",
    b"null",
    b'"status"',
    b'{"updated": "yesterday", "cameras": {}}',
    b'{"updated": true, "cameras": {}}',
    b'{"updated": NaN, "cameras": {}}',
    b'{"updated": 1e999, "cameras": {}}',
    b'{"cameras": {"front": {"state": "streaming"}}}',
    b"[" * 100_000 + b"]" * 100_000,  # nesting deep enough to hit the recursion limit
]


@pytest.mark.parametrize("content", CORRUPT, ids=range(len(CORRUPT)))
def test_corrupt_status_reads_as_not_running(runtime: Path, client: FlaskClient, content: bytes) -> None:
    (runtime / "status.json").write_bytes(content)
    reasons = _unhealthy(client)
    assert all("not running" in reason for reason in reasons.values())
    cameras = client.get("/api/cameras")
    assert cameras.status_code == 200
    assert {camera["state"] for camera in cameras.get_json()} == {"offline"}
    faces = client.get("/api/cameras/front/faces")
    assert faces.status_code == 200
    assert faces.get_json()["faces"] == []


def test_status_json_that_is_a_directory(runtime: Path, client: FlaskClient) -> None:
    (runtime / "status.json").unlink()
    (runtime / "status.json").mkdir()
    _unhealthy(client)
    assert client.get("/api/cameras").status_code == 200


def test_malformed_fields_are_dropped_not_fatal() -> None:
    now = time.time()
    status = parse_status(
        {
            "updated": now,
            "cameras": {
                "front": {
                    "state": "streaming",
                    "fps_out": "fast",
                    "width": 1.5,
                    "last_frame": now,
                    "faces": [
                        {"name": "A", "confidence": 7, "box": [1, 2, 3, 4]},
                        {"name": "B", "confidence": 0.5, "box": [1, 2, 3]},
                        {"name": 3, "confidence": 0.5, "box": [1, 2, 3, 4]},
                        {"name": "C", "confidence": 0.5, "box": [1, 2, "3", 4]},
                        "junk",
                    ],
                },
                "back": {"state": ""},
                "side": None,
            },
        }
    )
    assert status is not None
    front = status.cameras["front"]
    assert front.fps_out == 0.0 and front.width is None
    assert [(face.name, face.confidence) for face in front.faces] == [("A", 1.0)]
    assert set(status.cameras) == {"front"}
    assert unhealthy_reasons(status, ("front",), now, 5.0) == {}
    assert set(unhealthy_reasons(status, ("front", "back"), now, 5.0)) == {"back"}


# ------------------------------------------------------------------------------------------------ metrics


def test_metrics_served_verbatim(client: FlaskClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.data == METRICS
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST


def test_metrics_missing(runtime: Path, client: FlaskClient) -> None:
    (runtime / "metrics.prom").unlink()
    assert client.get("/metrics").status_code == 503


# ------------------------------------------------------------------------------------------------ API


def test_api_cameras(client: FlaskClient) -> None:
    response = client.get("/api/cameras")
    assert response.status_code == 200
    cameras = response.get_json()
    assert [camera["name"] for camera in cameras] == [*CAMERAS, "linked"]
    for camera in cameras:
        assert set(camera) == {"name", "device", "state", "fps", "fps_in", "reason", "width", "height"}
        assert camera["device"] == "pi-front"  # which daemon of a fleet, from its status.json
    front = cameras[0]
    assert front["state"] == "streaming" and front["reason"] is None
    assert front["fps"] == 14.8 and front["fps_in"] == 15.2
    assert (front["width"], front["height"]) == (640, 480)
    assert cameras[2]["state"] == "offline" and "not reported" in cameras[2]["reason"]


def test_api_faces(client: FlaskClient) -> None:
    response = client.get("/api/cameras/front/faces")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"camera", "time", "faces"}
    assert body["camera"] == "front"
    assert isinstance(body["time"], float)
    assert body["faces"] == [  # crop: URL of the recent crop for "not this person" (none written here)
        {"name": "Taylor", "confidence": 0.93, "box": [10, 120, 110, 20], "track": 4, "crop": None,
         "not_judged": None},
        {"name": "Unknown", "confidence": 0.12, "box": [20, 30, 29, 21], "track": 5, "crop": None,
         "not_judged": "turned away (yaw 50°, at most 35)"},  # the label stays; the newest look was not judged
    ]


def test_api_faces_hidden_when_daemon_stale(runtime: Path, client: FlaskClient) -> None:
    write_status(runtime, updated=time.time() - 60)
    body = client.get("/api/cameras/front/faces").get_json()
    assert body == {"camera": "front", "time": None, "faces": []}


def test_api_unknown_camera_is_json_404(client: FlaskClient) -> None:
    response = client.get("/api/cameras/other/faces")
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


def test_api_unknown_route_and_method_are_json(client: FlaskClient) -> None:
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and missing.is_json
    wrong = client.post("/api/cameras", data=b"{}")
    assert wrong.status_code == 405 and wrong.is_json


def test_html_errors_outside_api(client: FlaskClient) -> None:
    assert client.get("/nothing").status_code == 404
    response = client.post("/", data=b"x")
    assert response.status_code == 405
    assert not response.is_json


@pytest.mark.parametrize("path", ["/", "/api/cameras", "/hls/front/index.m3u8", "/healthz", "/metrics"])
def test_oversized_body_is_413(client: FlaskClient, path: str) -> None:
    response = client.post(path, data=b"x" * (MAX_CONTENT_LENGTH + 1))
    assert response.status_code == 413


# ------------------------------------------------------------------------------------------------ factory


def test_create_app_from_config(tmp_path: Path) -> None:
    from facedaemon.web.app import create_app_from_config

    (tmp_path / "faces").mkdir()
    config = tmp_path / "facedaemon.yaml"
    config.write_text(
        "faces_dir: faces\n"
        "runtime_dir: run\n"
        "cameras:\n"
        "  door:\n"
        "    source: pattern\n"
        "  garage:\n"
        "    source: pattern\n"
        "    enabled: false\n"
    )
    app = create_app_from_config(str(config))
    context = app.extensions["facedaemon"]
    assert context.cameras == ("door",)
    assert context.runtime_dir == (tmp_path / "run").resolve()
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/hls/garage/index.m3u8").status_code == 404
    assert _unhealthy(client) == {"door": "offline: daemon not running (no readable status.json)"}


# ------------------------------------------------------------------------------------------------ page modules


def _node() -> str:
    return require_program("node", "nodejs")


def test_page_modules_syntax() -> None:
    for name in PAGE_MODULES:
        subprocess.run([_node(), "--check", str(STATIC / name)], check=True, timeout=60)


def test_faces_and_history_scripts_syntax() -> None:
    # Plain scripts (ui.js's helpers are their globals); node reads them as modules here, which they also parse as.
    for name in ("ui.js", "faces.js", "groups.js", "history.js"):
        subprocess.run([_node(), "--check", str(STATIC / name)], check=True, timeout=60)


def test_page_modules_listed_here_are_all_it_imports() -> None:
    imported = set()
    for name in PAGE_MODULES:
        imported |= set(re.findall(r'^import .* from "\./([^"]+)";$', (STATIC / name).read_text(), re.MULTILINE))
    assert imported == set(PAGE_MODULES) - {"cameras.js"}


def test_hls_playlist_and_codec_helpers() -> None:
    script = (
        "const p = {...await import(process.argv[1]), ...await import(process.argv[2])};\n"
        "const init = new Uint8Array([0,0,0,16,0x61,0x76,0x63,0x43,1,0x64,0x00,0x1f,0xff]);\n"
        "const text = '#EXTM3U\\n#EXT-X-TARGETDURATION:2\\n#EXT-X-MEDIA-SEQUENCE:41\\n"
        '#EXT-X-MAP:URI="init.mp4"\\n#EXTINF:1.5,\\nseg_00041.m4s\\n#EXTINF:2.0,\\nseg_00042.m4s\\n\';\n'
        "const list = p.parsePlaylist(text, 'http://h:1/hls/cam/index.m3u8');\n"
        "console.log(JSON.stringify({codec: p.codecFromInit(init), none: p.codecFromInit(new Uint8Array(9)),"
        " list}));\n"
    )
    modules = [(STATIC / name).as_uri() for name in ("hls-player.js", "mse.js")]
    result = subprocess.run(
        [_node(), "--input-type=module", "-e", script, *modules], check=True, capture_output=True, text=True, timeout=60
    )
    out = json.loads(result.stdout)
    assert out["codec"] == 'video/mp4; codecs="avc1.64001F"'
    assert out["none"] is None
    assert out["list"]["init"] == "http://h:1/hls/cam/init.mp4"
    assert out["list"]["segments"] == [
        {"sequence": 41, "url": "http://h:1/hls/cam/seg_00041.m4s", "duration": 1.5},
        {"sequence": 42, "url": "http://h:1/hls/cam/seg_00042.m4s", "duration": 2},
    ]

