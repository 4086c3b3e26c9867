"""The history's web routes on a real SQLite file (facedaemon/web/history.py): the JSON API's filters and cursor
paging, the CSV export's escaping, thumbnails (a stranger's only within unknowns.retention), last seen, and the
login and token scopes every route has."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest

from facedaemon.config.auth import AuthConfig
from facedaemon.history import store
from facedaemon.history.visits import Upsert, VisitRow
from facedaemon.web.auth import hash_token

DAY = 1_796_515_200.0  # 2026-12-06T00:00:00Z
READ_TOKEN = "tok_read_0123456789"


def visit(uid: str, person: str | None, camera: str, first: float, thumb: bytes | None = b"\xff\xd8jpeg") -> Upsert:
    return Upsert(VisitRow(uid, person, camera, "pi", first, first + 30, 1.2, 0.8, thumb))


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "state" / "history.sqlite3"
    conn = store.connect_rw(path)
    ops = [visit(f"o{i}", "Obama", "door", DAY + 3600 * i) for i in range(10)]
    ops += [visit(f"b{i}", "Biden", "yard", DAY + 3600 * i + 60) for i in range(5)]
    ops += [visit("s1", None, "door", DAY + 7200 + 5), visit("evil", "=HYPERLINK(\"http://x\")", "door", DAY + 99)]
    ops += [visit("yesterday", "Obama", "door", DAY - 3600)]
    store.apply(conn, ops, keep_stranger_thumbs=True, now=time.time())
    yield path
    conn.close()


@pytest.fixture
def client(db, make_client):
    return make_client(history_db=db, cameras=("door", "yard"), unknowns_retention=86400.0)


def get_all(client, **params):
    seen, cursor = [], None
    while True:
        answer = client.get("/api/history", query_string={**params, "limit": 4, **({"cursor": cursor} if cursor
                                                                                    else {})})
        assert answer.status_code == 200, answer.json
        seen += answer.json["visits"]
        cursor = answer.json["next_cursor"]
        if cursor is None:
            return seen


def test_cursor_paging_walks_every_visit_newest_first(client):
    visits = get_all(client)
    assert len(visits) == 18 and len({v["id"] for v in visits}) == 18
    times = [v["first_seen_ts"] for v in visits]
    assert times == sorted(times, reverse=True)


def test_filters_person_camera_strangers_and_a_day(client):
    day = {"from": "2026-12-06T00:00:00Z", "to": str(DAY + 86400)}
    assert {v["person"] for v in get_all(client, person="Obama", **day)} == {"Obama"}
    assert len(get_all(client, person="Obama", **day)) == 10  # not yesterday's
    assert {v["camera"] for v in get_all(client, camera="yard")} == {"yard"}
    strangers = get_all(client, unknown="1")
    assert [(v["person"], v["unknown"]) for v in strangers] == [(None, True)]
    first = get_all(client, person="Obama", **day)[-1]
    assert (first["first_seen"], first["last_seen"], first["duration"]) == ("2026-12-06T00:00:00Z",
                                                                           "2026-12-06T00:00:30Z", 30.0)


@pytest.mark.parametrize("params", [{"from": "yesterday"}, {"limit": "0"}, {"limit": "x"}, {"cursor": "nope"}])
def test_bad_parameters_are_a_400_naming_them(client, params):
    answer = client.get("/api/history", query_string=params)
    assert answer.status_code == 400
    assert next(iter(params)) in answer.json["detail"]


def test_the_csv_has_every_visit_with_formula_cells_escaped(client):
    answer = client.get("/api/history.csv", query_string={"camera": "door"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert len(rows) == 13 and {r["camera"] for r in rows} == {"door"}
    assert "'=HYPERLINK(\"http://x\")" in {r["person"] for r in rows}
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())


def test_thumbnails_and_a_strangers_only_within_retention(client, db, make_client):
    visits = get_all(client)
    obama = next(v for v in visits if v["person"] == "Obama")
    answer = client.get(obama["thumb"])
    assert answer.status_code == 200 and answer.data.startswith(b"\xff\xd8")
    assert answer.headers["Cache-Control"] == "no-store"
    stranger = next(v for v in visits if v["unknown"])
    assert client.get(stranger["thumb"]).status_code == 200
    expired = make_client(history_db=db, cameras=("door",), unknowns_retention=0.001)
    time.sleep(0.01)
    assert expired.get(stranger["thumb"]).status_code == 404
    assert [v["thumb"] for v in get_all(expired, unknown="1")] == [None]  # the page shows no broken picture
    assert expired.get(obama["thumb"]).status_code == 200
    assert client.get("/api/history/99999.jpg").status_code == 404


def test_last_seen_per_person(client):
    people = client.get("/api/history/last-seen").json["people"]
    assert people["Obama"]["last_seen"] == DAY + 9 * 3600 + 30 and people["Biden"]["camera"] == "yard"


def test_the_page_and_no_database_yet_and_history_off(client, tmp_path, make_client):
    page = client.get("/history")
    assert page.status_code == 200 and b"history.js" in page.data
    assert re.findall(r'<script src="/static/([^"?]+)', page.text) == ["ui.js", "history.js"]
    empty = make_client(history_db=tmp_path / "none" / "history.sqlite3")
    assert empty.get("/api/history").json == {"visits": [], "next_cursor": None, "device": ""}
    assert empty.get("/api/history.csv").get_data(as_text=True).startswith("id,first_seen")
    off = make_client(history_db=None)
    assert off.get("/api/history").status_code == 404 and off.get("/history").status_code == 404


def test_login_and_a_read_token(db, make_client):
    auth = AuthConfig(tokens=(f"read:{hash_token(READ_TOKEN)}",))
    client = make_client(history_db=db, auth=auth)
    for route in ("/history", "/api/history", "/api/history.csv", "/api/history/last-seen", "/api/history/1.jpg"):
        assert client.get(route).status_code == 401, route
        reader = client.get(route, headers={"Authorization": f"Bearer {READ_TOKEN}"})
        assert reader.status_code == 200, route
