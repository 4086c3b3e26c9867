"""The history as CSV, safe to open in a spreadsheet: a cell that starts with = + - @ (or a tab or carriage
return) is a formula to Excel and LibreOffice, so it gets a leading ' (OWASP's CSV injection advice)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HEADER = ("id", "first_seen", "last_seen", "duration_s", "person", "unknown", "group", "camera", "device",
          "confidence", "quality")


def escape(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def rows_csv(rows: Iterable[dict]) -> Iterator[str]:
    """The header, then one line per visit (to_json's dicts), each escaped."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def take(cells) -> str:
        writer.writerow([escape(cell) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield take(HEADER)
    for row in rows:
        yield take((row["id"], row["first_seen"], row["last_seen"], row["duration"], row["person"],
                    "yes" if row["unknown"] else "no", row["group"], row["camera"], row["device"],
                    row["confidence"], row["quality"]))
