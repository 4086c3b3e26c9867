"""`facedaemon bench --quick` runs end to end and prints every figure (whether targets are met is not tested:
this machine is shared and small; the benchmark itself is run by hand, see README "Performance")."""

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
