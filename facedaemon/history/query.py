"""The web app's side of the history: the SQLite file opened read-only (a WAL reader never blocks the daemon's
writer, nor the writer it), filtered and cursor-paged newest first. sqlite3 only: nothing heavy in gunicorn.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

MAX_LIMIT = 500
DEFAULT_LIMIT = 100


class BadQuery(ValueError):
    """A filter or cursor that cannot be read; the message names the parameter."""


@dataclass(frozen=True)
class Filters:
    person: str | None = None
    camera: str | None = None
    unknown: bool = False  # strangers only
    group: str | None = None  # one group of strangers
    start: float | None = None  # Unix time: visits that began at or after
    end: float | None = None  # … and before


def connect_ro(path: Path) -> sqlite3.Connection | None:
    """None while the daemon has not made the file yet (no visit recorded)."""
    if not path.is_file():
        return None
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=2.0, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def parse_time(name: str, value: str | None) -> float | None:
    """Unix seconds or ISO 8601 (a time without a zone is UTC)."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(f"{name} must be Unix seconds or an ISO 8601 time such as 2026-12-06T08:00:00Z "
                       f"(got {value[:40]!r})") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def parse_cursor(value: str | None) -> tuple[float, int] | None:
    if not value:
        return None
    first, _, ident = value.partition("_")
    try:
        return float(first), int(ident)
    except ValueError:
        raise BadQuery("cursor must be the next_cursor of an earlier answer") from None


def _where(filters: Filters, cursor: tuple[float, int] | None) -> tuple[str, list]:
    conditions = (("person = ?", filters.person), ("grp = ?", filters.group), ("camera = ?", filters.camera),
                  ("first_seen >= ?", filters.start), ("first_seen < ?", filters.end))
    given = [(clause, value) for clause, value in conditions if value is not None]
    clauses = [clause for clause, _ in given] + (["person IS NULL"] if filters.unknown else [])
    args = [value for _, value in given]
    if cursor is not None:
        clauses.append("(first_seen, id) < (?, ?)")
        args += list(cursor)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


COLUMNS = "id, person, grp, camera, device, first_seen, last_seen, quality, confidence, thumb"
# A thumbnail the page can show: a person's, or a stranger's taken since `?` (unknowns.retention; the daemon's hourly
# sweep deletes older ones, and until then they are not served).
THUMB_SHOWN = ("(thumb = 1 AND (person IS NOT NULL OR (SELECT created FROM thumbs WHERE visit = visits.id) >= ?)) "
               "AS shown")


def visits(conn: sqlite3.Connection, filters: Filters, cursor: tuple[float, int] | None = None,
           limit: int = DEFAULT_LIMIT, strangers_since: float = 0.0) -> tuple[list[sqlite3.Row], str | None]:
    """A page of visits, newest first, and the cursor of the next page (None: this was the last). Each row's
    `shown` says whether its thumbnail is served (a stranger's only if taken since `strangers_since`)."""
    where, args = _where(filters, cursor)
    rows = conn.execute(f"SELECT {COLUMNS}, {THUMB_SHOWN} FROM visits{where} ORDER BY first_seen DESC, id DESC "
                        "LIMIT ?", [strangers_since, *args, limit + 1]).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (cursor_of(rows[-1]) if more else None)


def all_visits(conn: sqlite3.Connection, filters: Filters, limit: int):
    where, args = _where(filters, None)
    return conn.execute(f"SELECT {COLUMNS} FROM visits{where} ORDER BY first_seen DESC, id DESC LIMIT ?",
                        [*args, limit])


def cursor_of(row: sqlite3.Row) -> str:
    return f"{row['first_seen']!r}_{row['id']}"


def thumbnail(conn: sqlite3.Connection, visit: int, now: float, stranger_retention: float) -> bytes | None:
    """A visit's thumbnail; a stranger's only within unknowns.retention (even before the daemon's next sweep)."""
    found = conn.execute("SELECT jpeg, stranger, created FROM thumbs WHERE visit = ?", (visit,)).fetchone()
    if found is None or (found["stranger"] and now - found["created"] > stranger_retention):
        return None
    return bytes(found["jpeg"])


def last_seen(conn: sqlite3.Connection) -> dict[str, dict]:
    """Each person's latest visit: {person: {"last_seen": unix, "camera": name}}."""
    rows = conn.execute("SELECT person, camera, max(last_seen) AS last FROM visits WHERE person IS NOT NULL "
                        "GROUP BY person").fetchall()
    return {row["person"]: {"last_seen": row["last"], "camera": row["camera"]} for row in rows}


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def to_json(row: sqlite3.Row) -> dict:
    return {
        "id": row["id"], "person": row["person"], "unknown": row["person"] is None, "group": row["grp"],
        "camera": row["camera"], "device": row["device"],
        "first_seen": iso(row["first_seen"]), "last_seen": iso(row["last_seen"]),
        "first_seen_ts": round(row["first_seen"], 3), "last_seen_ts": round(row["last_seen"], 3),
        "duration": round(row["last_seen"] - row["first_seen"], 1),
        "quality": None if row["quality"] is None else round(row["quality"], 3),
        "confidence": round(row["confidence"], 4),
    }
