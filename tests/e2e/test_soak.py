"""The soak CI runs: three cameras (one naming a real face) on the real daemon; nothing keeps growing once warm."""

from __future__ import annotations

import subprocess

import pytest

from devtools import REPO, shared_data
from devtools.soak import Sample, growth
from tests.realparts import missing

pytestmark = pytest.mark.e2e

WARM_UP = 45.0  # s: gallery, face models, the HLS playlists filling up (measured: flat from ~30 s under load)
RSS_LIMIT = 0.01  # growth of the fitted RSS line over the warm window: 1 % of ~720 MiB in ~75 s
COUNT_SLACK = 2  # open files, threads, HLS files: late maximum at most this above the early maximum


def test_growth_compares_the_last_quarter_with_the_second():
    flat = [Sample(i, 100.0, 50, 40, 8) for i in range(12)]
    leaking = [Sample(i, 100.0 + 10 * i, 50 + i, 40, 8) for i in range(12)]
    assert all(change == 0 for change in growth(flat).values())
    assert growth(leaking)["rss_mib"] > 0.05 and growth(leaking)["open_files"] > 0.05


def table(stdout: str) -> list[Sample]:
    """The soak's sample lines (t_s, rss_mib, open_files, threads, hls_files, processes)."""
    rows = []
    for line in stdout.splitlines():
        fields = line.split("\t")
        if len(fields) == 6 and fields[0][:1].isdigit():
            at, rss, files, threads, hls, processes = fields
            rows.append(Sample(float(at), float(rss), int(files), int(threads), int(hls), int(processes)))
    return rows


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope: a leak shows as a steady rise, noise does not."""
    n = len(points)
    mean_x, mean_y = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)


def warm_problems(samples: list[Sample]) -> list[str]:
    warm = [s for s in samples if s.at >= WARM_UP]
    assert len(warm) >= 12, f"only {len(warm)} samples after the {WARM_UP:.0f} s warm-up"
    span = warm[-1].at - warm[0].at
    mean_rss = sum(s.rss_mib for s in warm) / len(warm)
    rss_growth = slope([(s.at, s.rss_mib) for s in warm]) * span / mean_rss
    problems = [f"RSS grows {rss_growth * 100:+.1f} % over {span:.0f} s"] if rss_growth > RSS_LIMIT else []
    half = len(warm) // 2
    for name in ("open_files", "threads", "hls_files", "processes"):
        early, late = max(getattr(s, name) for s in warm[:half]), max(getattr(s, name) for s in warm[half:])
        if late > early + COUNT_SLACK:
            problems.append(f"{name} {early} -> {late}")
    return problems


def test_warm_problems_catch_a_slow_leak_and_pass_noise():
    noisy = [Sample(5.0 * i, 720.0 + (2.0 if i % 3 else -2.0), 76, 43, 29) for i in range(30)]
    assert warm_problems(noisy) == []
    leaking = [Sample(5.0 * i, 720.0 + 0.5 * i, 76 + i // 2, 43, 29) for i in range(30)]  # 6 MiB/min, an fd/10 s
    assert len(warm_problems(leaking)) == 2


def test_soak_shows_no_growth_once_warm():
    # The soak swaps the face camera for a pattern when it finds no photos: never silently here.
    if not (shared_data() / "images" / "obama.jpg").is_file():
        missing("shared test photos", f"{shared_data()} has no images/obama.jpg: the soak would run without faces")
    result = subprocess.run([str(REPO / "scripts" / "soak"), "--minutes", "2", "--interval", "5"],
                            capture_output=True, text=True, timeout=500, cwd=REPO)
    print(result.stdout)
    assert "soak: passed" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0
    problems = warm_problems(table(result.stdout))
    assert not problems, f"{problems}\n{result.stdout}"
