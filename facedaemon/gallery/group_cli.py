"""`facedaemon unknowns groups | name GROUP PERSON | ignore GROUP [--stop]`: the groups page's actions from a shell
(gallery/groups.py does the work, as for the web app)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from facedaemon.gallery import groups
from facedaemon.gallery.layout import EnrollError
from facedaemon.gallery.settings import GallerySettings

if TYPE_CHECKING:
    from facedaemon.config.models import Config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("groups", help="list the groups of unknown faces")
    name = actions.add_parser("name", help='"This is …": enrol a group\'s best crops as a person')
    name.add_argument("group")
    name.add_argument("person")
    ignore = actions.add_parser("ignore", help="ignore a group (a poster, a TV): shown as \"face\", no events")
    ignore.add_argument("group")
    ignore.add_argument("--stop", action="store_true", help="stop ignoring it (the group is deleted)")


def run(args: argparse.Namespace, config: Config, relabel: groups.Relabel | None = None) -> int:
    """`relabel`: what naming a group does to its visits (__main__ passes the visit history's)."""
    folder, retention = config.unknowns_dir, config.unknowns.retention
    try:
        if args.action == "groups":
            return _list(groups.listing(folder, time.time(), retention))
        if args.action == "name":
            report = groups.name_group(GallerySettings.from_config(config), folder, args.group, args.person,
                                       time.time(), retention, relabel=relabel)
            for refused in report.refused:
                print(f"not enrolled: {refused}", file=sys.stderr)
            print(f"{args.group} is {args.person}: {len(report.added)} photo(s) added, {report.removed} crop(s) "
                  "deleted; a running daemon names them within a few seconds")
        elif args.stop:
            groups.unignore(folder, args.group)
            print(f"{args.group}: no longer ignored (deleted)")
        else:
            group = groups.ignore(folder, args.group)
            print(f"{args.group}: ignored ({len(group.kept)} encodings kept, its crops deleted)")
    except (groups.GroupsError, EnrollError) as exc:
        print(f"facedaemon: {exc}", file=sys.stderr)
        return 1
    return 0


def _list(found: list[dict]) -> int:
    if not found:
        print("no groups (is unknowns.save on?)")
    for group in found:
        if group["ignored"]:
            print(f"{group['id']}  ignored ({group['kept']} encodings kept)")
            continue
        print(f"{group['id']}  {group['size']:4d} face(s)  {_when(group['first_seen'])} .. "
              f"{_when(group['last_seen'])}  {', '.join(group['cameras'])}")
    return 0


def _when(stamp: float | None) -> str:
    return "?" if stamp is None else datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
