"""The history's SQLite file: schema and migrations, the writer's statements, pruning and forgetting.

One connection per thread (sqlite3 objects stay in the thread that made them). The daemon's writer thread opens it
read-write (WAL: the web app's readers never block it, nor it them; secure_delete: a forgotten name is overwritten,
not left in free pages); the web app opens it read-only (query.py). The schema version is PRAGMA user_version;
MIGRATIONS[n] takes version n to n + 1, applied at start in one transaction.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from facedaemon.history.visits import Delete, Op, Upsert

log = logging.getLogger(__name__)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 0 -> 1
        """CREATE TABLE visits (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            person TEXT,             -- NULL: a stranger
            grp TEXT,                -- a stranger's group (unknown visitors grouped), NULL until grouped
            camera TEXT NOT NULL,
            device TEXT NOT NULL,
            first_seen REAL NOT NULL, -- Unix time, UTC
            last_seen REAL NOT NULL,
            quality REAL,
            confidence REAL NOT NULL,
            thumb INTEGER NOT NULL DEFAULT 0  -- 1: a row in thumbs
        )""",
        "CREATE INDEX visits_time ON visits (first_seen, id)",
        "CREATE INDEX visits_camera ON visits (camera, first_seen, id)",
        "CREATE INDEX visits_person ON visits (person, first_seen, id)",
        "CREATE INDEX visits_grp ON visits (grp) WHERE grp IS NOT NULL",
        """CREATE TABLE thumbs (
            visit INTEGER PRIMARY KEY REFERENCES visits (id) ON DELETE CASCADE,
            stranger INTEGER NOT NULL,
            created REAL NOT NULL,
            jpeg BLOB NOT NULL
        )""",
        "CREATE INDEX thumbs_stranger ON thumbs (stranger, created)",
    ),
)
VERSION = len(MIGRATIONS)
BUSY_MS = 2000


class HistoryError(Exception):
    """The history cannot be used (a newer schema, a folder we cannot write): the daemon goes on without it."""


def disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return "full" in str(exc).lower()  # "database or disk is full"
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


def connect_rw(path: Path) -> sqlite3.Connection:
    """Open (creating, migrating; a corrupt file is moved aside and a new one started) for the writer."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        return _open_checked(path)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and not damaged(str(exc)):
            raise
        aside = move_aside(path)
        log.error("history: %s is damaged (%s); moved it to %s and started a new history", path, exc, aside.name)
        return _open_checked(path)


def damaged(text: str) -> bool:
    text = text.lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def _open_checked(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses nothing committed
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("PRAGMA foreign_keys=ON")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {check}")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > VERSION:
        raise HistoryError(f"the history database has schema version {version}, newer than this facedaemon "
                           f"({VERSION}): keep the newer facedaemon or move the file away")
    if version == VERSION:
        return version
    with transaction(conn):
        for step in MIGRATIONS[version:]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={VERSION}")
    log.info("history: database schema %d -> %d", version, VERSION)
    return VERSION


def move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").replace(f"{aside}{suffix}")
    return aside


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection):
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def apply(conn: sqlite3.Connection, ops: Iterable[Op], *, keep_stranger_thumbs: bool, now: float) -> None:
    """The writer's batch, in one transaction."""
    with transaction(conn):
        for op in ops:
            if isinstance(op, Delete):
                conn.execute("DELETE FROM visits WHERE uid = ?", (op.uid,))
                continue
            assert isinstance(op, Upsert)
            row = op.row
            thumb = row.thumb if (row.person is not None or keep_stranger_thumbs) else None
            conn.execute(
                """INSERT INTO visits (uid, person, camera, device, first_seen, last_seen, quality, confidence)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (uid) DO UPDATE SET last_seen = excluded.last_seen, quality = excluded.quality,
                       confidence = excluded.confidence""",
                (row.uid, row.person, row.camera, row.device, row.first_seen, row.last_seen, row.quality,
                 row.confidence))
            if thumb is not None:
                visit = conn.execute("SELECT id FROM visits WHERE uid = ?", (row.uid,)).fetchone()[0]
                conn.execute("INSERT OR REPLACE INTO thumbs (visit, stranger, created, jpeg) VALUES (?, ?, ?, ?)",
                             (visit, int(row.person is None), now, thumb))
                conn.execute("UPDATE visits SET thumb = 1 WHERE id = ?", (visit,))


def forget(conn: sqlite3.Connection, people: Iterable[str]) -> int:
    """Delete every visit and thumbnail of these people, then truncate the WAL so no copy of a page is left."""
    names = sorted(set(people))
    if not names:
        return 0
    with transaction(conn):
        marks = ",".join("?" * len(names))
        removed = conn.execute(f"DELETE FROM visits WHERE person IN ({marks})", names).rowcount
    checkpoint(conn)
    return removed


def forget_all_but(conn: sqlite3.Connection, people: Iterable[str]) -> int:
    """Forget everyone with visits who is not in `people` (the gallery): forgotten while the daemon was down too."""
    keep = set(people)
    recorded = {name for (name,) in conn.execute("SELECT DISTINCT person FROM visits WHERE person IS NOT NULL")}
    return forget(conn, recorded - keep)


def checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def relabel_group(conn: sqlite3.Connection, group_id: str, person: str) -> int:
    """A group of strangers was named: its visits become that person's (their thumbnails stay, now a person's)."""
    with transaction(conn):
        conn.execute("UPDATE thumbs SET stranger = 0 WHERE visit IN (SELECT id FROM visits WHERE grp = ?)",
                     (group_id,))
        return conn.execute("UPDATE visits SET person = ?, grp = NULL WHERE grp = ?", (person, group_id)).rowcount


def set_group(conn: sqlite3.Connection, uid: str, group_id: str | None) -> None:
    """For the grouping of unknown visitors: which group a stranger's visit belongs to."""
    with transaction(conn):
        conn.execute("UPDATE visits SET grp = ? WHERE uid = ? AND person IS NULL", (group_id, uid))


def group_stranger_seen(conn: sqlite3.Connection, camera: str, when: float, group_id: str,
                        slack: float = 2.0) -> int:
    """Put the stranger's visit on `camera` that was going on at `when` (Unix time, e.g. an unknown crop's
    first_seen; `slack` s either side) into a group; returns the rows changed (0 or 1)."""
    with transaction(conn):
        found = conn.execute("SELECT id FROM visits WHERE camera = ? AND person IS NULL AND first_seen <= ? AND "
                             "last_seen >= ? ORDER BY abs(first_seen - ?) LIMIT 1",
                             (camera, when + slack, when - slack, when)).fetchone()
        if found is None:
            return 0
        return conn.execute("UPDATE visits SET grp = ? WHERE id = ?", (group_id, found[0])).rowcount


def relabel_strangers(path: Path, group_id: str, person: str, sightings: list[tuple[str, float]]) -> int:
    """A named group of unknown faces (gallery/groups.py name_group): the strangers' visits its crops came from
    (each crop's camera and first_seen) become `person`'s visits. Returns the visits relabelled; the history being
    off, absent or unwritable leaves them as they were (logged), never the naming undone."""
    def job(conn: sqlite3.Connection) -> int:
        for camera, when in sightings:
            group_stranger_seen(conn, camera, when, group_id)
        return relabel_group(conn, group_id, person)

    try:
        changed = with_file(path, job)
    except (sqlite3.Error, OSError) as exc:
        log.warning("history: the visits of unknown group %s were not relabelled: %s", group_id, exc)
        return 0
    log.info("history: %d visit(s) of unknown group %s relabelled", changed, group_id)  # no name: see gallery/groups
    return changed


def with_file(path: Path, job):
    """Run job(conn) on the history file from another process than the daemon (the web app, the CLI): SQLite lets
    a second writer wait its turn (BUSY_MS), so e.g. with_file(db, lambda c: relabel_group(c, "g7", "Ann"))."""
    conn = _open_checked(path) if path.is_file() else None
    if conn is None:
        return 0
    try:
        return job(conn)
    finally:
        conn.close()


def prune(conn: sqlite3.Connection, *, now: float, retention: float, stranger_retention: float,
          max_bytes: int) -> tuple[int, int]:
    """Visits past retention, strangers' thumbnails past unknowns.retention (the row stays), then the oldest visits
    until the file fits max_bytes. Returns (visits deleted, thumbnails deleted)."""
    with transaction(conn):
        visits = conn.execute("DELETE FROM visits WHERE last_seen < ?", (now - retention,)).rowcount
        old = conn.execute("SELECT visit FROM thumbs WHERE stranger = 1 AND created < ?",
                           (now - stranger_retention,)).fetchall()
        conn.executemany("UPDATE visits SET thumb = 0 WHERE id = ?", old)
        thumbs = conn.execute("DELETE FROM thumbs WHERE stranger = 1 AND created < ?",
                              (now - stranger_retention,)).rowcount
    while used_bytes(conn) > max_bytes:
        total = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
        if not total:
            break
        with transaction(conn):  # a tenth at a time: the free pages are reused, the file does not shrink
            visits += conn.execute("DELETE FROM visits WHERE id IN (SELECT id FROM visits ORDER BY first_seen "
                                   "LIMIT ?)", (max(1, total // 10),)).rowcount
    if visits or thumbs:
        checkpoint(conn)
    return visits, thumbs


def used_bytes(conn: sqlite3.Connection) -> int:
    """Pages in use (the file minus its free pages)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
    return pages * conn.execute("PRAGMA page_size").fetchone()[0]
