"""Other sites against the real gunicorn: cross-site writes and DNS rebinding, with login off (the loopback
default) and on; every refusal and every change is one line in the daemon's log."""

from __future__ import annotations

import time

import pytest
from werkzeug.security import generate_password_hash

from devtools.web_server import web_server

pytestmark = pytest.mark.e2e

PASSWORD = "pw-for-sites-test-only-5b1"
FOREIGN = [
    {"Origin": "https://evil.example"},
    {"Referer": "https://evil.example/page"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://127.0.0.1.evil.example"},
]


@pytest.fixture(scope="module")
def open_web(tmp_path_factory, shared_data):
    folder = tmp_path_factory.mktemp("sites")
    (folder / "faces" / "Known").mkdir(parents=True)
    (folder / "faces" / "Known" / "a.jpg").write_bytes((shared_data / "images" / "obama.jpg").read_bytes())
    with web_server(folder) as running:
        yield running


def photo(shared_data, name="obama2.jpg"):
    return {"images": (name, (shared_data / "images" / name).read_bytes(), "image/jpeg")}


@pytest.mark.parametrize("headers", FOREIGN)
def test_cross_site_writes_are_refused_without_login(open_web, shared_data, headers):
    enrol = open_web.request("POST", "/api/faces/Victim", files=photo(shared_data), headers=headers)
    assert enrol.status_code == 403, enrol.text
    assert not (open_web.folder / "faces" / "Victim").exists()
    forget = open_web.request("DELETE", "/api/faces/Known", headers=headers)
    assert forget.status_code == 403
    assert (open_web.folder / "faces" / "Known" / "a.jpg").is_file()
    mark = open_web.request("POST", "/api/faces/Known/not", json={"camera": "cam", "track": 1}, headers=headers)
    assert mark.status_code == 403
    open_web.wait_for_log("refused cross-site POST '/api/faces/Victim' from 127.0.0.1")


def test_a_rebinding_host_cannot_read(open_web):
    for host in ("evil.example", f"evil.example:{open_web.port}", "localhost.evil.example"):
        response = open_web.request("GET", "/api/faces", headers={"Host": host})
        assert response.status_code == 403, host
        assert "Known" not in response.text
    open_web.wait_for_log("Host 'evil.example' is not allowed")
    for host in (f"127.0.0.1:{open_web.port}", f"localhost:{open_web.port}", "[::1]"):
        assert open_web.request("GET", "/api/faces", headers={"Host": host}).status_code == 200, host


def test_same_origin_enrol_works_and_is_audited(open_web, shared_data):
    own = {"Origin": open_web.url}
    response = open_web.request("POST", "/api/faces/Friend", files=photo(shared_data, "obama3.jpg"), headers=own)
    assert response.status_code == 201, response.text
    open_web.wait_for_log("audit: enrol by - from 127.0.0.1: 1 photo(s) of a person")
    forget = open_web.request("DELETE", "/api/faces/Friend", headers=own)
    assert forget.status_code == 200
    log = open_web.wait_for_log("audit: forget by - from 127.0.0.1")
    assert "Friend" not in log  # the journal outlives the erasure


@pytest.fixture(scope="module")
def login_web(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sites-login")
    (folder / "faces" / "Known").mkdir(parents=True)
    auth = {"enabled": True, "users": {"alice": generate_password_hash(PASSWORD)}}
    with web_server(folder, auth=auth, http={"allowed_hosts": ["cams.example.lan"]}) as running:
        yield running


def test_with_login_cross_site_writes_are_refused_too(login_web):
    for headers in FOREIGN:
        response = login_web.request("DELETE", "/api/faces/Known", auth=("alice", PASSWORD), headers=headers)
        assert response.status_code == 403, headers
    assert (login_web.folder / "faces" / "Known").is_dir()


def test_configured_names_are_allowed(login_web):
    response = login_web.request("GET", "/api/faces", auth=("alice", PASSWORD),
                                 headers={"Host": f"cams.example.lan:{login_web.port}"})
    assert response.status_code == 200


def test_failed_logins_reach_the_daemon_log_without_the_password(login_web):
    time.sleep(1.1)  # the module's earlier tests may have spent this second's password checks (429 otherwise)
    for _ in range(3):
        assert login_web.request("GET", "/api/faces", auth=("alice", "wrong-guess-77")).status_code == 401
        time.sleep(0.6)  # within the budget of 2 password checks a second
    log = login_web.wait_for_log("failed login from 127.0.0.1 as 'alice'")
    assert log.count("failed login from 127.0.0.1") == 3
    assert "wrong-guess-77" not in log and PASSWORD not in log
