"""CSV export escaping (facedaemon/history/csv_export.py): no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from facedaemon.history.csv_export import HEADER, escape, rows_csv


@pytest.mark.parametrize("value, expected", [
    ("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\r=x", "'\r=x"), ("Obama", "Obama"), ("a=b", "a=b"), ("", ""), (None, ""), (0.5, "0.5"), (3, "3"),
])
def test_escape(value, expected):
    assert escape(value) == expected


def test_rows_are_quoted_and_escaped():
    row = {"id": 1, "first_seen": "2026-12-06T08:00:00Z", "last_seen": "2026-12-06T08:01:00Z", "duration": 60.0,
           "person": '=HYPERLINK("http://x","a,b")', "unknown": False, "group": None, "camera": "door",
           "device": "pi", "confidence": 0.8, "quality": None}
    text = "".join(rows_csv([row]))
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == list(HEADER)
    assert parsed[1][4] == '\'=HYPERLINK("http://x","a,b")' and parsed[1][5] == "no" and parsed[1][6] == ""
