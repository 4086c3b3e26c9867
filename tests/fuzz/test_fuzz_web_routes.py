"""Fuzzed HTTP requests to the real web app (issue 25): random paths (traversal forms among them), methods,
headers, bodies and query strings through Flask's test client, over a real runtime folder with HLS files and a
real faces folder.

Never a 500 (the 503 of the routes that need the daemon aside: none runs here), and never the content of a file
outside the folders the app serves: a sentinel file beside them must not appear in any body. Examples:
tests/fuzz_profiles.py.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid

import pytest
from flask.testing import FlaskClient
from hypothesis import example, given
from hypothesis import strategies as st

from facedaemon.gallery.settings import GallerySettings
from facedaemon.web.app import create_app
from facedaemon.web.context import WebContext

SENTINEL = f"SENTINEL-{uuid.uuid4().hex}"
# No daemon runs here: the live path, the health check and the metrics (read from the daemon's files) rightly
# answer 503; every other 5xx is a failure.
UNAVAILABLE_HERE = ("/live/", "/healthz", "/metrics")
# gunicorn answers 400 itself to a request target holding a control character (a raw CR, NUL, ...: tried with
# gunicorn 27.0.1), so the app never sees one raw; percent-encoded ones (%0D) do reach it, and are fuzzed.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> FlaskClient:
    root = tmp_path_factory.mktemp("web-fuzz")
    (root / "secret.txt").write_text(SENTINEL)  # beside runtime_dir, faces and unknowns: must never be served
    runtime = root / "run"
    hls = runtime / "door"  # runtime_dir/<camera>/: the HLS files ffmpeg writes
    hls.mkdir(parents=True)
    (hls / "index.m3u8").write_text("#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:1.0,\nseg_00001.m4s\n")
    (hls / "init.mp4").write_bytes(b"\0\0\0\x08ftyp")
    (hls / "seg_00001.m4s").write_bytes(b"\0\0\0\x08moof")
    (hls / "seg_00002.m4s").symlink_to(root / "secret.txt")
    faces = root / "faces"
    (faces / "Ann").mkdir(parents=True)
    (faces / "Ann" / "link.jpg").symlink_to(root / "secret.txt")
    unknowns = root / "unknowns"
    unknowns.mkdir()
    gallery = GallerySettings(faces_dir=faces, cache_dir=root / "cache", model="hog", tolerance=0.6)
    app = create_app(WebContext(runtime_dir=runtime, cameras=("door",), gallery=gallery, unknowns_dir=unknowns,
                                unknowns_save=True))
    return app.test_client()


# What a server hands on: no raw control characters (see _CONTROL).
_served_text = st.characters(blacklist_characters=[chr(code) for code in range(32)] + ["\x7f"])
_pieces = st.one_of(
    st.sampled_from(["hls", "door", "live", "api", "cameras", "faces", "snapshots", "recent", "unknowns",
                     "negatives", "not", "assign", "static", "healthz", "metrics", "index.m3u8", "init.mp4",
                     "seg_00001.m4s", "seg_00002.m4s", "secret.txt", "Ann", "link.jpg", "..", ".", "%2e%2e",
                     "%2F", "..%2F..%2Fsecret.txt", "....//", "%00", "~", "", "x.jpg", "20260101T000000Z-0123abcd"]),
    st.text(_served_text, max_size=12),
)
paths = st.lists(_pieces, min_size=1, max_size=7).map(lambda pieces: "/" + "/".join(pieces))
_header_names = st.sampled_from(["Host", "Range", "If-None-Match", "If-Modified-Since", "Content-Type", "Origin",
                                 "Authorization", "Cookie", "X-Forwarded-For", "Accept", "Referer", "X-Random"])
_header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40) | st.sampled_from(
    ["bytes=0-", "bytes=-1", "bytes=5-2", "bytes=0-0,1-1", "127.0.0.1", "evil.example", "multipart/form-data",
     "multipart/form-data; boundary=x", "application/json", "Basic YWxpY2U6eA==", "Bearer x", "*"])


def test_the_app_under_fuzz_serves_its_own_files(client: FlaskClient) -> None:
    """The fixture is what the app expects: its HLS files are served (so a refusal below is not a wrong setup)."""
    assert request(client, "GET", "/hls/door/index.m3u8", "", {}, b"") == (200, (
        b'#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1.0,\nseg_00001.m4s\n'))
    assert request(client, "GET", "/hls/door/seg_00002.m4s", "", {}, b"")[0] == 404  # the symlink out


def request(client: FlaskClient, method: str, path: str, query: str, headers: dict[str, str],
            body: bytes) -> tuple[int, bytes]:
    # The request line as a WSGI server hands it on: the path percent-decoded, then as latin-1 text (so '//x',
    # '?' and bytes that are not UTF-8 reach the app as they would from gunicorn, not parsed by the test client).
    if _CONTROL.search(path + query):
        return 400, b""
    raw = path.encode("utf-8", "surrogatepass")
    environ = {"PATH_INFO": urllib.parse.unquote_to_bytes(raw).decode("latin-1"), "RAW_URI": raw.decode("latin-1"),
               "QUERY_STRING": query.encode("utf-8", "surrogatepass").decode("latin-1")}
    response = client.open("/", method=method, headers=headers, data=body, environ_overrides=environ)
    try:
        return response.status_code, response.get_data()
    finally:
        response.close()


@example(method="GET", path="/hls/door/..%2F..%2Fsecret.txt", query="", headers={}, body=b"")
@example(method="GET", path="/hls/door/seg_00002.m4s", query="", headers={}, body=b"")
@example(method="GET", path="//healthz", query="", headers={}, body=b"")  # found by the long run
@example(method="GET", path="/%2F/healthz", query="", headers={}, body=b"")  # found by the 100,000 run
@example(method="GET", path="/hls/hls//hls", query="\r", headers={}, body=b"")  # a CR only a test client sends
@example(method="GET", path="/static/../../secret.txt", query="", headers={}, body=b"")
@example(method="POST", path="/api/faces/Ann", query="", headers={"Content-Type": "multipart/form-data"},
         body=b"--x\r\n")
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"]),
    path=paths,
    query=st.text(_served_text, max_size=60),
    headers=st.dictionaries(_header_names, _header_values, max_size=4),
    body=st.binary(max_size=300),
)
def test_no_request_gets_a_500_or_a_file_from_outside(client: FlaskClient, method: str, path: str, query: str,
                                                       headers: dict[str, str], body: bytes) -> None:
    status, content = request(client, method, path, query, headers, body)
    # The route the app picks: from the path percent-decoded (as the server hands it on), slashes merged by
    # Werkzeug ('//healthz' and '/%2F/healthz' are /healthz).
    routed = re.sub("/+", "/", urllib.parse.unquote_to_bytes(path.encode("utf-8", "surrogatepass")).decode("latin-1"))
    assert status < 500 or (status == 503 and routed.startswith(UNAVAILABLE_HERE)), (status, content[:300])
    assert SENTINEL.encode() not in content
