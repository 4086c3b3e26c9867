"""Unknown faces in groups (gallery/groups.py): list, "This is …" (name), merge, ignore, stop ignoring.

The same folder, login and token scopes as /api/unknowns (web/unknowns.py): reading is GET, every change a POST or
DELETE. Naming enrols through the same checks as an upload, in this web worker, like assigning one crop.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NoReturn

from flask import Blueprint, Response, abort, jsonify, request, url_for

from facedaemon.gallery import groups
from facedaemon.gallery.layout import EnrollError, check_name
from facedaemon.history import store
from facedaemon.web.audit import audit
from facedaemon.web.unknowns import _context

blueprint = Blueprint("groups", __name__, url_prefix="/api/unknowns/groups")


def _json_field(key: str, what: str) -> str:
    body = request.get_json(silent=True)
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, str):
        abort(400, description=f'send JSON {{"{key}": "<{what}>"}}')
    return value


def _refuse(exc: groups.GroupsError | EnrollError | OSError) -> NoReturn:
    """A refused change answers with its status; a folder the web app cannot write answers 503, never 500."""
    if isinstance(exc, OSError):
        abort(503, description=f"cannot change the groups: {exc.strerror or exc}")
    abort(exc.status, description=str(exc))


def _shown(entry: dict) -> dict:
    entry["best"] = [{"id": uid, "url": url_for("unknowns.image", uid=uid)} for uid in entry["best"]]
    return entry


def _relabel(db: Path | None) -> groups.Relabel | None:
    """The group's visits become the person's (history/store.py), when the history is on."""
    if db is None:
        return None

    def relabel(gid: str, person: str, sightings: list[tuple[str, float]]) -> None:
        store.relabel_strangers(db, gid, person, sightings)
    return relabel


@blueprint.get("")
def listing() -> Response:
    context = _context()
    found = groups.listing(context.unknowns_dir, time.time(), context.unknowns_retention)
    return jsonify({"save": context.unknowns_save, "groups": [_shown(g) for g in found]})


@blueprint.post("/<gid>/name")
def name(gid: str) -> tuple[Response, int]:
    context = _context()
    if context.gallery is None:
        abort(404, description="no faces folder configured")
    person = _json_field("name", "person")
    try:
        check_name(person)
    except EnrollError as exc:
        abort(400, description=str(exc))
    try:
        report = groups.name_group(context.gallery, context.unknowns_dir, gid, person, time.time(),
                                   context.unknowns_retention, relabel=_relabel(context.history_db))
    except (groups.GroupsError, EnrollError, OSError) as exc:
        _refuse(exc)
    audit("name-group", f"an unknown group to a person ({len(report.added)} photos)")
    return jsonify({"id": gid, "name": person, "added": report.added, "refused": report.refused,
                    "removed": report.removed}), 201


@blueprint.post("/<gid>/merge")
def merge(gid: str) -> Response:
    context = _context()
    other = _json_field("other", "group id")
    try:
        group = groups.merge(context.unknowns_dir, gid, other)
    except (groups.GroupsError, OSError) as exc:
        _refuse(exc)
    audit("merge-groups", "two unknown groups")
    return jsonify({"id": group.id, "size": len(group.members), "merged": other})


@blueprint.post("/<gid>/ignore")
def ignore(gid: str) -> Response:
    context = _context()
    try:
        group = groups.ignore(context.unknowns_dir, gid)
    except (groups.GroupsError, OSError) as exc:
        _refuse(exc)
    audit("ignore-group", "an unknown group")
    return jsonify({"id": group.id, "ignored": True, "kept": len(group.kept)})


@blueprint.delete("/<gid>/ignore")
def unignore(gid: str) -> Response:
    context = _context()
    try:
        groups.unignore(context.unknowns_dir, gid)
    except (groups.GroupsError, OSError) as exc:
        _refuse(exc)
    audit("unignore-group", "an unknown group")
    return jsonify({"id": gid, "ignored": False, "removed": True})
