"""Login through the real gunicorn: HLS, API and metrics need it; /healthz does not; nothing secret is logged."""

from __future__ import annotations

import pytest
import requests
from werkzeug.security import generate_password_hash

from facedaemon.web.auth import hash_token

pytestmark = pytest.mark.e2e

PASSWORD = "s3cret-for-e2e-only"
TOKEN = "e2e-token-value-123"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, run_module_daemon):
    tmp = tmp_path_factory.mktemp("auth")
    auth = {"enabled": True, "users": {"alice": generate_password_hash(PASSWORD)}, "tokens": [hash_token(TOKEN)]}
    cameras = {"cam": {"source": "pattern", "width": 320, "height": 240, "fps": 10, "recognize": False}}
    return run_module_daemon(tmp, cameras, auth=auth, timeout=60)  # /healthz stays public


def test_routes_need_credentials_over_real_http(daemon):
    for path in ("/", "/api/cameras", "/metrics", "/hls/cam/index.m3u8"):
        assert daemon.get(path).status_code == 401, path
    daemon.wait_for(lambda: daemon.get("/hls/cam/index.m3u8", auth=("alice", PASSWORD)).status_code == 200,
                    20, "the playlist with a password")
    assert daemon.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert daemon.get("/api/cameras", auth=("alice", "wrong")).status_code == 401


def test_no_password_or_token_in_the_log(daemon):
    requests.get(daemon.base_url + "/", auth=("alice", PASSWORD), timeout=10)
    log = daemon.log()
    assert PASSWORD not in log and TOKEN not in log
