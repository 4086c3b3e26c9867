"""The web's view of faces_dir: every person with their photos and negatives, each with the notes of the
daemon's last load (from gallery.json). Read-only."""

from __future__ import annotations

from pathlib import Path

from facedaemon.gallery.layout import scan, scan_negatives
from facedaemon.gallery.settings import GallerySettings


def listing(gallery: GallerySettings) -> dict:
    """People with their photos, each with the notes of the daemon's last load (from the gallery report).

    The photo list comes from faces_dir itself, so it is current even before the daemon has reloaded.
    """
    from facedaemon.gallery.report import read_report  # it loads numpy, which the web app must not at start

    faces_dir, cache_dir = gallery.faces_dir, gallery.cache_dir
    report = read_report(cache_dir) if cache_dir is not None else {}
    reported = _section(report, "people")
    people: dict[str, dict] = {}
    for person, path in scan(faces_dir, cache_dir):
        rel = str(path.relative_to(faces_dir))
        known = _section(reported, person)
        entry = people.setdefault(person, _new_entry(person, known.get("consistency")))
        entry["images"] += 1
        entry["files"].append({"file": rel, **_photo_state(path, _section(known, "images").get(rel))})
    negatives = _section(report, "negatives")
    for person, path in scan_negatives(faces_dir):
        entry = people.setdefault(person, _new_entry(person, None))
        entry["negatives"].append({"file": path.name, **_photo_state(path, _section(negatives, person).get(
            path.name))})
    for entry in people.values():
        entry["usable"] = sum(1 for f in entry["files"] if f["ok"])
    return {"updated": report.get("updated"), "people": sorted(people.values(), key=lambda e: e["name"])}


def _new_entry(person: str, consistency: object) -> dict:
    return {"name": person, "images": 0, "consistency": consistency, "files": [], "negatives": []}


def _section(mapping: dict, key: str) -> dict:
    """mapping[key] if it is a mapping (the report is a file anyone could have edited), else {}."""
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def _photo_state(path: Path, reported: dict | None) -> dict:
    """The report's verdict if it is about this very file version, else 'not loaded yet'."""
    try:
        stat = path.stat()
    except OSError:
        return {"ok": False, "notes": ["cannot read"]}
    current = reported is not None and reported.get("size") == stat.st_size and reported.get(
        "mtime_ns") == stat.st_mtime_ns
    if not current or not isinstance(reported.get("notes"), list):
        return {"ok": False, "notes": ["not loaded yet: the daemon picks new photos up within a few seconds"]}
    return {"ok": bool(reported.get("ok")), "notes": [str(n) for n in reported["notes"]]}
