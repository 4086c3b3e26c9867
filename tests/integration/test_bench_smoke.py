"""`facedaemon bench --quick` runs end to end and prints every figure (whether targets are met is not tested:
this machine is shared and small; the benchmark itself is run by hand, see docs/performance.md)."""

from __future__ import annotations

import re
import subprocess
import sys

from facedaemon.bench.cli import QUICK_SECONDS
from facedaemon.bench.report import rows

NUMBER = re.compile(r"^-?\d+(\.\d+)?( ms| %)?$")


def test_quick_bench_prints_the_whole_table(shared_data, tmp_path) -> None:
    done = subprocess.run([sys.executable, "-m", "facedaemon", "bench", "--quick",
                           "--data", str(shared_data), "--json", str(tmp_path / "bench.json")],
                          capture_output=True, text=True, timeout=420)
    assert done.returncode == 0, done.stderr[-3000:]
    table = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
             for line in done.stdout.splitlines() if line.startswith("| ")}
    for row in rows(QUICK_SECONDS, 1):
        assert row.figure in table, f"row {row.figure!r} missing from:\n{done.stdout}"
        naive, ours, _target, _ratio, verdict = table[row.figure]
        assert NUMBER.match(ours), (row.figure, ours)
        if row.target is not None:
            assert NUMBER.match(naive), (row.figure, naive)
            assert verdict in ("pass", "FAIL"), (row.figure, verdict)
    assert "machine:" in done.stdout and (tmp_path / "bench.json").is_file()


def test_quick_range_bench_prints_heights_and_targets(shared_data, tmp_path) -> None:
    """`facedaemon bench --range --quick`: the 1080p clip at three heights, the one-face and face-free clips."""
    import json

    from facedaemon.bench.range_cli import QUICK_HEIGHTS

    done = subprocess.run([sys.executable, "-m", "facedaemon", "bench", "--range", "--quick",
                           "--data", str(shared_data), "--json", str(tmp_path / "range.json")],
                          capture_output=True, text=True, timeout=420)
    assert done.returncode == 0, done.stderr[-3000:]
    rows_ = [line.split("|")[1:-1] for line in done.stdout.splitlines() if line.startswith("| ")]
    heights = [int(r[0]) for r in rows_ if r[0].strip().isdigit() and r[1].strip() == "facedaemon"]
    assert heights == QUICK_HEIGHTS, done.stdout
    targets = {r[0].strip(): r[3].strip() for r in rows_ if len(r) == 4}
    assert any(name.startswith("first appearance") for name in targets), done.stdout
    assert set(targets.values()) <= {"pass", "FAIL", "verdict"}, targets
    report = json.loads((tmp_path / "range.json").read_text())
    assert report["face_free"][0]["frames_out"] > 0 and "load average" in done.stdout
