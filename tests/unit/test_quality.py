"""Pure parts of gallery quality, change detection, cache pruning and person names."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from facedaemon.faces.quality import (
    MIN_FACE_PX,
    MIN_SHARPNESS,
    FaceQuality,
    consistency,
    distances_to_others,
    laplacian_variance,
    outlier_note,
    problems,
)
from facedaemon.gallery.cache import CacheEntry, FileStamp, only_existing
from facedaemon.gallery.edit import photo_filename
from facedaemon.gallery.layout import EnrollError, check_name
from facedaemon.gallery.watch import describe_changes, snapshot

TOLERANCE = 0.6  # the outlier tests read distances at the config's default tolerance


def test_laplacian_variance_is_high_for_edges_and_zero_for_flat() -> None:
    flat = np.full((64, 64), 128, np.uint8)
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    assert laplacian_variance(flat) == 0.0
    assert laplacian_variance(checker) > 10_000
    assert laplacian_variance(np.zeros((2, 2))) == 0.0


def test_problems_give_actionable_reasons() -> None:
    assert problems(FaceQuality(200, 300.0)) == []
    small, blurred = problems(FaceQuality(MIN_FACE_PX - 1, MIN_SHARPNESS - 1))
    assert "too small" in small and "closer" in small
    assert "too blurred" in blurred and "sharper" in blurred


def test_quality_detail_round_trip_and_old_entries() -> None:
    quality = FaceQuality(123, 45.67)
    assert FaceQuality.from_detail(quality.to_detail()) == FaceQuality(123, 45.7)
    assert FaceQuality.from_detail("") is None
    assert FaceQuality.from_detail("corrupt image: x") is None


def test_outlier_is_far_from_the_mean_of_the_others() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(0, 0.1, 128)
    same = [base + rng.normal(0, 0.01, 128) for _ in range(3)]
    away = rng.normal(0, 1, 128)
    other = base + away * (0.9 / np.linalg.norm(away))  # another person: ~0.9 away, as real encodings are
    distances = distances_to_others(np.array([*same, other]))
    assert all(d < 0.6 for d in distances[:3]) and distances[3] > 0.6
    note = outlier_note(float(distances[3]), TOLERANCE)
    assert note is not None and "different person" in note
    assert outlier_note(float(distances[0]), TOLERANCE) is None
    assert np.isnan(distances_to_others(np.array([base]))[0]) and outlier_note(float("nan"), TOLERANCE) is None


def test_consistency_is_mean_pairwise_distance() -> None:
    a, b, c = np.zeros(128), np.zeros(128), np.zeros(128)
    b[0], c[1] = 0.3, 0.4
    assert consistency(np.array([a, b, c])) == pytest.approx((0.3 + 0.4 + 0.5) / 3)
    assert consistency(np.array([a])) is None


@pytest.mark.parametrize("name", ["Obama", "Barack Obama", "J.R. Smith", "anne-marie_2", "A", "x" * 64])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", " lead", ".x", "-x", "a/b", "a\\b", "..", "x.", "x ", "x" * 65, "unknown",
                                  "tab\tname", "ü"])
def test_bad_names(name: str) -> None:
    with pytest.raises(EnrollError):
        check_name(name)


def test_photo_filename_is_safe_and_content_addressed() -> None:
    name = photo_filename("../../etc/pass wd.JPG", b"data", ".jpg")
    assert "/" not in name and name.startswith("pass_wd-") and name.endswith(".jpg")
    assert photo_filename("a.jpg", b"data", ".jpg") != photo_filename("a.jpg", b"other", ".jpg")
    assert photo_filename("....", b"d", ".png").startswith("photo-")


def test_only_existing_drops_gone_files_and_their_entries(tmp_path: Path) -> None:
    kept = tmp_path / "a.jpg"
    kept.write_bytes(b"a")
    entries = {"da": CacheEntry("ok", np.zeros(128)), "db": CacheEntry("ok", np.ones(128)),
               "dc": CacheEntry("no_face", None)}
    stamps = {str(kept): FileStamp("da", 1, 1), str(tmp_path / "gone.jpg"): FileStamp("db", 1, 1),
              "relative.jpg": FileStamp("dc", 1, 1)}
    new_entries, new_stamps = only_existing(entries, stamps)
    assert set(new_entries) == {"da"} and set(new_stamps) == {str(kept)}


def test_snapshot_sees_adds_removes_replacements_and_ignores_the_rest(tmp_path: Path) -> None:
    faces = tmp_path / "faces"
    (faces / "Ann").mkdir(parents=True)
    (faces / ".facedaemon-cache").mkdir()
    (faces / ".facedaemon-cache" / "x.jpg").write_bytes(b"c")
    (faces / "Ann" / "a.jpg").write_bytes(b"a")
    (faces / "Ann" / ".enroll-1.tmp").write_bytes(b"partial")
    (faces / "Ann" / "notes.txt").write_bytes(b"t")
    (faces / "Bob.PNG").write_bytes(b"b")
    cache_elsewhere = faces / "cachedir"
    cache_elsewhere.mkdir()
    (cache_elsewhere / "y.jpg").write_bytes(b"y")
    before = snapshot(faces, cache_elsewhere)
    assert sorted(Path(p).name for p in before) == ["Bob.PNG", "a.jpg"]

    (faces / "Ann" / "b.jpg").write_bytes(b"b")
    (faces / "Bob.PNG").unlink()
    os.utime(faces / "Ann" / "a.jpg", ns=(1, 1))
    after = snapshot(faces, cache_elsewhere)
    assert describe_changes(before, after) == "1 added (Ann/b.jpg); 1 removed (faces/Bob.PNG); 1 replaced (Ann/a.jpg)"
    assert describe_changes(after, after) == "no change"
    assert snapshot(tmp_path / "missing") == {}
