"""The documented caching front (etc/nginx/facedaemon.conf, Debian's nginx) in front of the real daemon.

nginx → a counting relay → the daemon, all on 127.0.0.1: the login and Host rules hold through the front, nothing
cached is given to a viewer the daemon refuses, and repeated requests are served from the cache (the relay sees
about one request per object).
"""

from __future__ import annotations

import base64
import http.client
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml
from werkzeug.security import generate_password_hash

from devtools.daemon import write_config
from devtools.nginx_front import CountingRelay, start_front
from facedaemon.web.auth import hash_token
from tests import ffmpegs
from tests.hls_timing import join_segments
from tests.realparts import require_program

pytestmark = pytest.mark.e2e

PASSWORD = "front-e2e-password"
READ_TOKEN = "front-e2e-read-token"
METRICS_TOKEN = "front-e2e-metrics-token"
REVOKED_TOKEN = "front-e2e-token-revoked-last"  # the last test takes it out of the config
NAME = "cam.example.org"  # the front's public name, in http.allowed_hosts
VIEWER = "127.0.0.5"  # the viewer's address (loopback has all of 127/8): nginx itself is the trusted 127.0.0.1


@pytest.fixture(scope="module")
def stack(tmp_path_factory, run_module_daemon):
    nginx = require_program("nginx", "nginx")
    tmp = tmp_path_factory.mktemp("front")
    auth = {"enabled": True, "users": {"alice": generate_password_hash(PASSWORD)},
            "tokens": [f"read:{hash_token(READ_TOKEN)}", f"metrics:{hash_token(METRICS_TOKEN)}",
                       f"read:{hash_token(REVOKED_TOKEN)}"],
            "trusted_proxies": ["127.0.0.1/32"]}
    cameras = {"cam": {"source": "pattern", "width": 320, "height": 240, "fps": 10, "recognize": False}}
    (tmp / "faces").mkdir()
    config_path, port = write_config(tmp, cameras, tmp / "faces", auth=auth,
                                     hls={"segment_seconds": 1.0, "playlist_size": 6})
    config = yaml.safe_load(config_path.read_text())
    config["http"]["allowed_hosts"] = [NAME]
    config_path.write_text(yaml.safe_dump(config))
    daemon = run_module_daemon.start(tmp, config_path, port, timeout=60)
    relay = CountingRelay(int(daemon.base_url.rsplit(":", 1)[1])).start()
    front = start_front(nginx, tmp / "nginx", relay.port)
    try:
        daemon.wait_for(lambda: len(segments(get(front, "/hls/cam/index.m3u8", auth=("alice", PASSWORD)))) >= 3,
                        30, "three segments through the front")
        yield daemon, front, relay
    finally:
        front.stop()
        relay.close()


def get(front, path: str, host: str | None = None, **kwargs) -> requests.Response:
    headers = {"Host": host or f"{NAME}:{front.port}", **kwargs.pop("headers", {})}
    return requests.get(front.base_url + path, headers=headers, timeout=10, **kwargs)


def segments(response: requests.Response) -> list[str]:
    if response.status_code != 200:
        return []
    return [line for line in response.text.splitlines() if line and not line.startswith("#")]


def newest_segment(front) -> str:
    return segments(get(front, "/hls/cam/index.m3u8", auth=("alice", PASSWORD)))[-1]


def test_without_a_login_the_front_refuses_hls(stack) -> None:
    _daemon, front, _relay = stack
    for path in ("/hls/cam/index.m3u8", "/hls/cam/init.mp4", f"/hls/cam/{newest_segment(front)}"):
        refused = get(front, path)
        assert refused.status_code == 401, path
        assert refused.headers.get("WWW-Authenticate", "").startswith("Basic"), "players must be asked to log in"
        # 429: the daemon's budget of password checks per second is spent (the front passes that on, not 500)
        assert get(front, path, auth=("alice", "wrong")).status_code in (401, 429), path
        assert get(front, path, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 403, path
    assert requests.post(front.base_url + "/hls/cam/index.m3u8", auth=("alice", PASSWORD), timeout=10,
                         headers={"Host": NAME}).status_code == 403


def test_a_cached_object_never_reaches_a_refused_viewer(stack) -> None:
    _daemon, front, _relay = stack
    name = newest_segment(front)
    first = get(front, f"/hls/cam/{name}", auth=("alice", PASSWORD))
    again = get(front, f"/hls/cam/{name}", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert first.status_code == again.status_code == 200
    assert again.headers["X-Cache"] == "HIT" and again.content == first.content
    for refused in (get(front, f"/hls/cam/{name}"), get(front, f"/hls/cam/{name}", auth=("alice", "nope")),
                    get(front, f"/hls/cam/{name}", auth=("alice", PASSWORD), host="evil.example")):
        assert refused.status_code in (401, 403, 429)
        assert first.content[:64] not in refused.content


def test_with_a_login_it_plays_the_daemons_stream(stack) -> None:
    daemon, front, _relay = stack
    listed = segments(get(front, "/hls/cam/index.m3u8", auth=("alice", PASSWORD)))
    init = get(front, "/hls/cam/init.mp4", auth=("alice", PASSWORD))
    parts = [get(front, f"/hls/cam/{name}", headers={"Authorization": f"Bearer {READ_TOKEN}"}) for name in listed]
    assert init.status_code == 200 and all(part.status_code == 200 for part in parts)
    direct = daemon.get(f"/hls/cam/{listed[-1]}", auth=("alice", PASSWORD))
    assert direct.content == parts[-1].content, "the front serves the daemon's bytes"
    joined = join_segments(ffmpegs.SUITE(), init.content, [part.content for part in parts],
                           Path(front.tmp))
    assert len(joined.times) >= 0.8 * 10 * len(parts)  # 10 fps: the frames are all there and readable


def test_host_rules_hold_through_the_front(stack) -> None:
    daemon, front, _relay = stack
    for path in ("/hls/cam/index.m3u8", "/api/cameras", "/"):
        assert get(front, path, auth=("alice", PASSWORD), host="evil.example").status_code == 403, path
        assert get(front, path, auth=("alice", PASSWORD)).status_code == 200, path
    assert get(front, "/healthz", host="evil.example").status_code == 403
    assert "Host 'evil.example' is not allowed" in daemon.log()


def test_the_daemon_sees_the_viewer_address_not_a_forged_one(stack) -> None:
    daemon, front, _relay = stack
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10, source_address=(VIEWER, 0))
    wrong = base64.b64encode(b"mallory:guess").decode()
    connection.request("GET", "/hls/cam/index.m3u8", headers={
        "Host": NAME, "Authorization": f"Basic {wrong}", "X-Forwarded-For": "198.51.100.9"})
    assert connection.getresponse().status in (401, 429)  # 429: this second's password checks were spent
    connection.close()
    logged = (f"failed login from {VIEWER} as 'mallory'", f"password checks/s; refused one from {VIEWER}")
    daemon.wait_for(lambda: any(line in daemon.log() for line in logged), 5,
                    "the refused login logged with the viewer's address")
    assert "198.51.100.9" not in daemon.log()


def test_repeated_requests_are_served_from_the_cache(stack) -> None:
    _daemon, front, relay = stack
    token = {"Authorization": f"Bearer {READ_TOKEN}"}
    name = newest_segment(front)
    playlist_before = relay.count("/hls/cam/index.m3u8")
    auth_before = len(relay.matching("/api/cameras"))
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        # 64 viewers ask for a new segment at once, then each polls the playlist for ~3 s.
        statuses = list(pool.map(lambda _i: get(front, f"/hls/cam/{name}", headers=token).status_code, range(64)))

        def poll(_viewer: int) -> int:
            ok = 0
            while time.monotonic() - began < 3.0:
                ok += get(front, "/hls/cam/index.m3u8", headers=token).status_code == 200
                time.sleep(0.1)
            return ok

        polls = sum(pool.map(poll, range(32)))
    seconds = time.monotonic() - began
    assert statuses == [200] * 64
    assert relay.count(f"/hls/cam/{name}") <= 1, "the segment was fetched from the daemon once"
    playlist_fetches = relay.count("/hls/cam/index.m3u8") - playlist_before
    assert polls > 200
    # Cached until the end of each second: about one fetch a second (+1 for a background update at the edge).
    assert playlist_fetches <= 2 * (seconds + 1), (playlist_fetches, polls, seconds)
    assert len(relay.matching("/api/cameras")) - auth_before <= 2, "one login check per token per 10 s"


def test_a_query_string_does_not_get_past_the_cache(stack) -> None:
    _daemon, front, relay = stack
    token = {"Authorization": f"Bearer {READ_TOKEN}"}
    name = newest_segment(front)
    assert get(front, f"/hls/cam/{name}", headers=token).status_code == 200
    before = len(relay.matching(f"/hls/cam/{name}"))
    for number in range(20):
        assert get(front, f"/hls/cam/{name}?bust={number}", headers=token).status_code == 200
    assert len(relay.matching(f"/hls/cam/{name}")) == before


def test_the_fronts_playlist_is_at_most_a_second_behind(stack) -> None:
    daemon, front, _relay = stack
    token = {"Authorization": f"Bearer {READ_TOKEN}"}
    behind = []
    began = time.monotonic()
    while time.monotonic() - began < 4.0:
        direct = segments(daemon.get("/hls/cam/index.m3u8", headers=token))
        through = segments(get(front, "/hls/cam/index.m3u8", headers=token))
        behind.append(int(direct[-1][4:-4]) - int(through[-1][4:-4]))
        time.sleep(0.2)
    # 1 s segments, the playlist cached to the end of the current second: one segment behind at most (two if the
    # machine is slow between the two requests).
    assert max(behind) <= 2, behind


def status_from(front, address: str, path: str, headers: dict[str, str]) -> int:
    """One GET through the front from another loopback address (the daemon counts failed logins per address)."""
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10, source_address=(address, 0))
    try:
        connection.request("GET", path, headers={"Host": NAME, **headers})
        return connection.getresponse().status
    finally:
        connection.close()


def test_too_many_failed_logins_are_a_429_through_the_front(stack) -> None:
    """The daemon's per-address limit (10 a minute) answers 429; auth_request alone would turn that into a 500."""
    _daemon, front, _relay = stack
    wrong = {"Authorization": "Basic " + base64.b64encode(b"alice:not-the-password").decode()}
    statuses = []
    for _ in range(14):
        connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10, source_address=("127.0.0.7", 0))
        connection.request("GET", "/hls/cam/index.m3u8", headers={"Host": NAME, **wrong})
        response = connection.getresponse()
        statuses.append((response.status, response.getheader("Retry-After")))
        connection.close()
        time.sleep(0.6)  # under the device's 2 password checks a second: each attempt is a real check
    assert {status for status, _ in statuses} <= {401, 429}, statuses
    assert statuses[-1][0] == 429 and statuses[-1][1], statuses


def test_a_revoked_token_is_refused_once_its_check_expires(stack) -> None:
    """The front remembers a yes for 10 s; after that the daemon decides again (runs last: it changes the config).

    Until then the revoked viewer may still get cached files; the daemon refuses its cache fills meanwhile and
    counts them as failed logins from its address, so the refusal may be 429 rather than 401.
    """
    daemon, front, _relay = stack
    revoked, address = {"Authorization": f"Bearer {REVOKED_TOKEN}"}, "127.0.0.6"
    assert status_from(front, address, "/hls/cam/index.m3u8", revoked) == 200
    config = yaml.safe_load(daemon.config_path.read_text())
    config["auth"]["tokens"] = [token for token in config["auth"]["tokens"] if hash_token(REVOKED_TOKEN) not in token]
    daemon.config_path.write_text(yaml.safe_dump(config))
    revoked_at = time.monotonic()
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for(lambda: status_from(front, address, "/hls/cam/index.m3u8", revoked) in (401, 429), 20,
                    "the revoked token refused through the front", interval=0.2)
    assert time.monotonic() - revoked_at < 10 + 5  # the cached yes (10 s) and the web server's restart
    for _ in range(5):  # and it stays refused: the old yes is not served again while being renewed
        assert status_from(front, address, "/hls/cam/index.m3u8", revoked) in (401, 429)
        time.sleep(0.3)
    assert get(front, "/hls/cam/index.m3u8", headers={"Authorization": f"Bearer {READ_TOKEN}"}).status_code == 200
