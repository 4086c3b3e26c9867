"""The history's SQLite file for real (facedaemon/history/store.py, writer.py): the schema migrated at start, a
damaged file moved aside, forget leaving no trace in the database, WAL or shared-memory file, a full disk costing
visits and not the writer, and SIGKILL of a writing process leaving a database that opens clean with every visit."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facedaemon.history import store
from facedaemon.history.visits import Upsert, VisitRow
from facedaemon.history.writer import HistoryWriter, WriterSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = WriterSettings(keep_stranger_thumbs=True, retention=30 * 86400.0, stranger_retention=86400.0,
                          max_bytes=200 * 1024 * 1024)


def row(uid: str, person: str | None, first: float = 1_800_000_000.0, thumb: bytes | None = b"jpeg") -> Upsert:
    return Upsert(VisitRow(uid, person, "door", "pi", first, first + 5, 1.5, 0.8, thumb))


def test_a_new_file_gets_the_current_schema_with_wal_and_secure_delete(tmp_path):
    conn = store.connect_rw(tmp_path / "h.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    columns = {r[1] for r in conn.execute("PRAGMA table_info(visits)")}
    assert {"person", "grp", "camera", "device", "first_seen", "last_seen", "quality", "confidence"} <= columns


def test_an_old_schema_is_migrated_and_a_newer_one_refused(tmp_path):
    path = tmp_path / "h.sqlite3"
    sqlite3.connect(path).close()  # version 0: an empty file
    assert store.connect_rw(path).execute("PRAGMA user_version").fetchone()[0] == store.VERSION
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version={store.VERSION + 1}")
    raw.close()
    with pytest.raises(store.HistoryError, match="newer than this facedaemon"):
        store.connect_rw(path)


def test_a_damaged_file_is_moved_aside_with_one_log_line_and_a_new_one_started(tmp_path, caplog):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.ERROR, logger="facedaemon.history"):
        conn = store.connect_rw(path)
    store.apply(conn, [row("a", "Obama")], keep_stranger_thumbs=False, now=time.time())
    assert conn.execute("SELECT count(*) FROM visits").fetchone()[0] == 1
    aside = list(tmp_path.glob("h.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "damaged" in lines[0] and aside[0].name in lines[0]


def test_forget_leaves_no_trace_of_the_name_in_the_db_wal_and_shm_files(tmp_path):
    path = tmp_path / "h.sqlite3"
    writer = HistoryWriter(path, SETTINGS)
    writer.start()
    name = "Zebulon Quixotic"  # a name no page header or schema text could contain by chance
    writer.put([row(f"v{i}", name, thumb=name.encode() * 20) for i in range(200)]
               + [row(f"w{i}", "Obama") for i in range(50)])
    wait_idle(writer)
    assert_contains([path, *sidecars(path)], name.encode())
    writer.call(lambda conn: store.forget(conn, [name]))
    wait_idle(writer)
    files = [path, *sidecars(path)]
    for file in files:
        assert name.encode() not in file.read_bytes(), file
    writer.stop(5.0)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*), count(DISTINCT person) FROM visits").fetchone() == (50, 1)
    assert conn.execute("SELECT count(*) FROM thumbs").fetchone()[0] == 50


def test_forget_all_but_the_gallery_and_relabel_a_group(tmp_path):
    conn = store.connect_rw(tmp_path / "h.sqlite3")
    store.apply(conn, [row("a", "Obama"), row("b", "Gone"), row("c", None), row("d", None)],
                keep_stranger_thumbs=True, now=time.time())
    store.set_group(conn, "c", "g1")
    assert store.forget_all_but(conn, {"Obama"}) == 1
    assert store.relabel_group(conn, "g1", "Biden") == 1
    people = conn.execute("SELECT uid, person, grp FROM visits ORDER BY uid").fetchall()
    assert people == [("a", "Obama", None), ("c", "Biden", None), ("d", None, None)]


def test_prune_retention_strangers_thumbnails_and_the_size_cap(tmp_path):
    conn = store.connect_rw(tmp_path / "h.sqlite3")
    now = time.time()
    old, recent = now - 40 * 86400, now - 3600
    store.apply(conn, [row("old", "Obama", first=old), row("known", "Obama", first=recent),
                       row("stranger", None, first=recent)], keep_stranger_thumbs=True, now=now - 2 * 86400)
    visits, thumbs = store.prune(conn, now=now, retention=30 * 86400, stranger_retention=86400, max_bytes=10**9)
    assert (visits, thumbs) == (1, 1)  # the old visit (its thumbnail goes with it), the stranger's thumbnail
    kept = conn.execute("SELECT uid, thumb FROM visits ORDER BY uid").fetchall()
    assert kept == [("known", 1), ("stranger", 0)]
    store.apply(conn, [row(f"n{i}", "Obama", first=recent + i, thumb=bytes(4000)) for i in range(500)],
                keep_stranger_thumbs=True, now=now)
    store.prune(conn, now=now, retention=30 * 86400, stranger_retention=86400, max_bytes=512 * 1024)
    assert store.used_bytes(conn) <= 512 * 1024
    newest = conn.execute("SELECT max(first_seen) FROM visits").fetchone()[0]
    assert newest == recent + 499  # the oldest went first


def test_a_full_disk_drops_visits_with_a_counter_and_the_writer_goes_on(tmp_path):
    path = tmp_path / "h.sqlite3"
    writer = HistoryWriter(path, SETTINGS)
    writer.start()
    writer.put([row("a", "Obama")])
    wait_idle(writer)
    writer.call(lambda conn: conn.execute("PRAGMA max_page_count = 1"))  # what a full disk looks like to SQLite
    wait_idle(writer)
    writer.put([row(f"big{i}", "Obama", thumb=bytes(100_000)) for i in range(3)])
    wait_idle(writer)
    assert writer.counters.dropped["disk_full"] == 3 and writer.alive()
    writer.stop(5.0)


def test_sigkill_while_writing_leaves_a_database_that_opens_clean_with_every_visit(tmp_path):
    path = tmp_path / "h.sqlite3"
    for round_ in range(5):
        process = subprocess.Popen([sys.executable, "-m", "devtools.history_writer", str(path), "--rate", "5",
                                    "--stay", "2"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        first = process.stdout.readline()  # started (imports take seconds on a loaded machine)
        time.sleep(1.5 + 0.3 * round_)
        killed_at = time.time()
        os.kill(process.pid, signal.SIGKILL)
        printed = first + process.communicate(timeout=10)[0]
        due: dict[str, float] = {}  # each visit's latest update handed to the writer more than 1 s before the kill
        for line in printed.splitlines():
            uid, last_seen = line.split()
            if float(last_seen) < killed_at - 1.0:
                due[uid] = max(due.get(uid, 0.0), float(last_seen))
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = dict(conn.execute("SELECT uid, last_seen FROM visits"))
        conn.close()
        assert due, f"the writer printed no visit before {killed_at - 1.0:.3f}: {printed[:300]!r}"
        lost = sorted(uid for uid, seen in due.items() if stored.get(uid, 0.0) < seen - 0.001)
        assert not lost, f"round {round_}: lost the updates of {lost}"
        store.connect_rw(path).close()  # and the daemon's own open (checks, migration) accepts it


def wait_idle(writer: HistoryWriter, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not writer.idle():
        assert time.monotonic() < deadline, "the writer did not finish its queue"
        time.sleep(0.02)


def sidecars(path: Path) -> list[Path]:
    return [p for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def assert_contains(files: list[Path], needle: bytes) -> None:
    assert any(needle in f.read_bytes() for f in files), "the test's name never reached the files"


def test_a_strangers_visit_is_grouped_by_camera_and_time_and_named_from_another_connection(tmp_path):
    path = tmp_path / "h.sqlite3"
    conn = store.connect_rw(path)
    store.apply(conn, [row("s1", None, first=1000.0), row("s2", None, first=2000.0)], keep_stranger_thumbs=True,
                now=time.time())
    assert store.group_stranger_seen(conn, "door", 2003.0, "g7") == 1
    assert store.group_stranger_seen(conn, "door", 5000.0, "g7") == 0
    assert store.with_file(path, lambda other: store.relabel_group(other, "g7", "Ann")) == 1
    assert conn.execute("SELECT uid, person FROM visits ORDER BY uid").fetchall() == [("s1", None), ("s2", "Ann")]


def test_naming_a_group_relabels_the_strangers_visits_its_crops_came_from(tmp_path, caplog):
    """gallery/groups.py name_group hands each member's (camera, first_seen) to relabel_strangers."""
    path = tmp_path / "h.sqlite3"
    conn = store.connect_rw(path)
    store.apply(conn, [row("s1", None, first=1000.0), row("s2", None, first=2000.0), row("s3", None, first=3000.0)],
                keep_stranger_thumbs=True, now=time.time())
    sightings = [("door", 1001.0), ("door", 3002.0), ("garden", 2001.0)]  # the garden has no such visit
    assert store.relabel_strangers(path, "g-1", "Ann", sightings) == 2
    assert conn.execute("SELECT uid, person, grp FROM visits ORDER BY uid").fetchall() == [
        ("s1", "Ann", None), ("s2", None, None), ("s3", "Ann", None)]
    with caplog.at_level(logging.WARNING):
        assert store.relabel_strangers(tmp_path / "none.sqlite3", "g-1", "Ann", sightings) == 0  # history off
