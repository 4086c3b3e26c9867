"""The visit history: the /history page, GET /api/history (JSON, cursor-paged, newest first), /api/history.csv,
each visit's thumbnail and each person's last seen.

The daemon writes the SQLite file (history/writer.py); this process opens it read-only per request, so a WAL reader
never holds the writer up. Login and token scopes are the app's, as for every route (web/auth.py): these are GETs,
which a `read` token may make.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, stream_with_context

from facedaemon.history import query
from facedaemon.history.csv_export import rows_csv
from facedaemon.web.context import WebContext, get_context

blueprint = Blueprint("history", __name__)
CSV_MAX_ROWS = 1_000_000  # a year of a busy door; more is a query to narrow


def _context() -> WebContext:
    context = get_context(current_app)
    if context.history_db is None:
        abort(404, description="the visit history is off (history.enabled: false)")
    return context


@contextlib.contextmanager
def _database(context: WebContext) -> Iterator[sqlite3.Connection | None]:
    try:
        conn = query.connect_ro(context.history_db)
    except sqlite3.Error as exc:
        abort(503, description=f"the history cannot be read: {exc}")
    try:
        yield conn
    except sqlite3.Error as exc:
        abort(503, description=f"the history cannot be read: {exc}")
    finally:
        if conn is not None:
            conn.close()


def _filters() -> query.Filters:
    args = request.args
    try:
        return query.Filters(person=args.get("person") or None, camera=args.get("camera") or None,
                             unknown=args.get("unknown", "").lower() in ("1", "true", "yes", "on"),
                             group=args.get("group") or None,
                             start=query.parse_time("from", args.get("from")),
                             end=query.parse_time("to", args.get("to")))
    except query.BadQuery as exc:
        abort(400, description=str(exc))


def _limit() -> int:
    try:
        limit = int(request.args.get("limit", query.DEFAULT_LIMIT))
    except ValueError:
        abort(400, description="limit must be a whole number")
    if not 1 <= limit <= query.MAX_LIMIT:
        abort(400, description=f"limit must be 1 to {query.MAX_LIMIT}")
    return limit


def _visit_json(row: sqlite3.Row) -> dict:
    body = query.to_json(row)
    body["thumb"] = f"/api/history/{row['id']}.jpg" if row["shown"] else None
    return body


@blueprint.get("/history")
def page() -> str:
    context = _context()
    return render_template("history.html", cameras=context.cameras)


@blueprint.get("/api/history")
def listing() -> Response:
    context = _context()
    filters, limit = _filters(), _limit()
    try:
        cursor = query.parse_cursor(request.args.get("cursor"))
    except query.BadQuery as exc:
        abort(400, description=str(exc))
    with _database(context) as conn:
        since = time.time() - context.unknowns_retention
        rows, next_cursor = query.visits(conn, filters, cursor, limit, since) if conn is not None else ([], None)
        visits = [_visit_json(row) for row in rows]
    return jsonify({"visits": visits, "next_cursor": next_cursor, "device": context.device})


@blueprint.get("/api/history.csv")
def export() -> Response:
    context = _context()
    filters = _filters()
    conn = query.connect_ro(context.history_db) if context.history_db.is_file() else None

    def lines() -> Iterator[str]:
        try:
            rows = query.all_visits(conn, filters, CSV_MAX_ROWS) if conn is not None else []
            yield from rows_csv(query.to_json(row) for row in rows)
        finally:
            if conn is not None:
                conn.close()

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="history.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/api/history/<int:visit>.jpg")
def thumbnail(visit: int) -> Response:
    context = _context()
    with _database(context) as conn:
        jpeg = query.thumbnail(conn, visit, time.time(), context.unknowns_retention) if conn is not None else None
    if jpeg is None:
        abort(404, description=f"no thumbnail for visit {visit}")
    response = Response(jpeg, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"  # faces: never kept by a cache after a forget
    return response


@blueprint.get("/api/history/last-seen")
def last_seen() -> Response:
    context = _context()
    with _database(context) as conn:
        people = query.last_seen(conn) if conn is not None else {}
    return jsonify({"people": {name: {**seen, "last_seen_iso": query.iso(seen["last_seen"])}
                               for name, seen in people.items()}})
