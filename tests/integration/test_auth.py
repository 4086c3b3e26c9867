"""Login on every route but /healthz: Basic users with hashed passwords, bearer tokens, rate limit, CSRF check."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from facedaemon.config.auth import AuthConfig
from facedaemon.web.auth import hash_token
from facedaemon.web.limiter import STATE_FILE, SharedLimiter

PASSWORD = "correct horse battery"
TOKEN = "tok_9f8e7d6c5b4a"
ROUTES = ("/", "/api/cameras", "/api/cameras/front/faces", "/hls/front/index.m3u8", "/metrics", "/static/cameras.js")


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def password_hash() -> str:
    return generate_password_hash(PASSWORD)  # scrypt: slow, so once per module


@pytest.fixture
def runtime(tmp_path: Path) -> Path:
    (tmp_path / "front").mkdir()
    (tmp_path / "front" / "index.m3u8").write_bytes(b"#EXTM3U\n")
    (tmp_path / "metrics.prom").write_bytes(b"facedaemon_camera_up 1\n")
    now = time.time()
    status = {"pid": 1, "updated": now, "started": now,
              "cameras": {"front": {"state": "streaming", "last_frame": now, "faces": []}}}
    (tmp_path / "status.json").write_text(json.dumps(status))
    return tmp_path


def change():  # stands in for the state-changing routes to come
    return {"changed": True}


@pytest.fixture
def login_client(runtime: Path, password_hash: str, make_client) -> Callable[..., FlaskClient]:
    """login_client(tokens=..., **auth) -> a test client of the app with alice's password, TOKEN unless `tokens`
    says otherwise, and a POST /api/test-change."""
    def make(tokens: tuple[str, ...] = (hash_token(TOKEN),), **auth) -> FlaskClient:
        config = AuthConfig(users={"alice": password_hash}, tokens=tokens, **auth)
        client = make_client(runtime_dir=runtime, cameras=("front",), auth=config)
        client.application.add_url_rule("/api/test-change", view_func=change, methods=["POST"])
        return client

    return make


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_needs_a_login(login_client, path):
    client = login_client()
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert client.get(path, headers=basic("alice", PASSWORD)).status_code == 200
    assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_healthz_stays_public_and_metrics_can_be_made_public(login_client):
    client = login_client(public_metrics=True)
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/").status_code == 401


@pytest.mark.parametrize("headers", [
    basic("alice", "wrong password"),
    basic("mallory", PASSWORD),
    basic("alice", ""),
    {"Authorization": "Bearer not-the-token"},
    {"Authorization": f"Bearer {hash_token(TOKEN)}"},  # the digest itself is not a credential
    {"Authorization": "Basic !!!not-base64"},
    {"Authorization": "Digest username=alice"},
])
def test_wrong_credentials_are_refused(login_client, headers):
    response = login_client().get("/api/cameras", headers=headers)
    assert response.status_code == 401


def test_failed_logins_are_rate_limited_per_client(login_client):
    client = login_client(max_failures=3, max_checks_per_second=100)
    for _ in range(3):
        assert client.get("/", headers=basic("alice", "guess")).status_code == 401
    blocked = client.get("/", headers=basic("alice", PASSWORD))
    assert blocked.status_code == 429, "even the right password waits: no oracle while blocked"
    assert int(blocked.headers["Retry-After"]) > 0
    other = client.get("/", headers=basic("alice", PASSWORD), environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_failure_limiter_window_is_shared_and_expires(tmp_path):
    one, two = SharedLimiter(tmp_path, limit=2), SharedLimiter(tmp_path, limit=2)  # two workers, one file
    one.failed("a", 0.0)
    two.failed("a", 10.0)
    assert one.blocked_for("a", 11.0) == pytest.approx(49.0)
    assert two.blocked_for("a", 11.0) == pytest.approx(49.0)
    assert one.blocked_for("b", 11.0) == 0
    assert two.blocked_for("a", 61.0) == 0, "the first failure left the window"
    one.failed("c", 100.0)
    assert '"a"' not in (tmp_path / STATE_FILE).read_text(), "an address with no failure in the window is forgotten"


def test_password_checks_have_one_budget_for_all_workers(tmp_path):
    workers = [SharedLimiter(tmp_path, limit=10, checks_per_second=4) for _ in range(3)]
    granted = [worker.take_check(5.0 + i * 0.01) for i in range(12) for worker in workers[i % 3:i % 3 + 1]]
    assert granted.count(True) == 4
    assert workers[0].take_check(6.1), "a new second, a new budget"


def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(login_client):
    client = login_client(max_failures=2, trusted_proxies=("127.0.0.1",), max_checks_per_second=100)
    proxied = {"environ_base": {"REMOTE_ADDR": "127.0.0.1"}}
    for _ in range(2):
        assert client.get("/", headers={**basic("alice", "x"), "X-Forwarded-For": "198.51.100.9"},
                          **proxied).status_code == 401
    assert client.get("/", headers={**basic("alice", "x"), "X-Forwarded-For": "198.51.100.9"},
                      **proxied).status_code == 429
    # another client behind the same proxy is not locked out; a spoofed first hop does not help the attacker
    assert client.get("/", headers={**basic("alice", PASSWORD), "X-Forwarded-For": "203.0.113.5"},
                      **proxied).status_code == 200
    assert client.get("/", headers={**basic("alice", "x"), "X-Forwarded-For": "1.2.3.4, 198.51.100.9"},
                      **proxied).status_code == 429


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 200),  # not a browser (curl with a password): no CSRF risk
    ({"Origin": "http://localhost"}, 200),
    ({"Referer": "http://localhost/"}, 200),
    ({"Origin": "http://evil.example"}, 403),
    ({"Referer": "http://evil.example/page"}, 403),
    ({"Origin": "http://localhost.evil.example"}, 403),
])
def test_state_changing_requests_must_be_same_origin(login_client, headers, status):
    client = login_client()
    response = client.post("/api/test-change", headers={**basic("alice", PASSWORD), **headers})
    assert response.status_code == status


def test_no_wildcard_cors_anywhere(login_client):
    client = login_client()
    for path in ROUTES:
        response = client.get(path, headers={**basic("alice", PASSWORD), "Origin": "http://evil.example"})
        assert "Access-Control-Allow-Origin" not in response.headers


def test_without_auth_config_the_app_is_open(runtime, make_client):
    client = make_client(runtime_dir=runtime, cameras=("front",))
    assert client.get("/api/cameras").status_code == 200


def test_token_scopes(login_client):
    scraper, viewer = "prometheus-token-1", "viewer-token-2"
    client = login_client(tokens=(f"metrics:{hash_token(scraper)}", f"read:{hash_token(viewer)}", hash_token(TOKEN)))

    def bearer(token):
        return {"Authorization": f"Bearer {token}"}

    assert client.get("/metrics", headers=bearer(scraper)).status_code == 200
    assert client.get("/api/cameras", headers=bearer(scraper)).status_code == 403
    assert client.post("/api/test-change", headers=bearer(scraper)).status_code == 403
    assert client.get("/api/cameras", headers=bearer(viewer)).status_code == 200
    assert client.post("/api/test-change", headers=bearer(viewer)).status_code == 403
    assert client.post("/api/test-change", headers=bearer(TOKEN)).status_code == 200  # a bare digest: admin
