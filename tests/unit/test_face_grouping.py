"""Unknown-face grouping on plain vectors (faces/grouping.py): assignment, the two clustering methods, a chain of
look-alikes, stable ids across a regroup, the user's merges, and the figures the benchmark reports. Real photos:
scripts/benchmarks/group_photos.py (docs/performance.md "Unknown visitors, grouped")."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from facedaemon.faces import grouping


def person(seed: int, looks: int, spread: float = 0.02) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centre = rng.normal(0, 0.056, 128)
    return centre + rng.normal(0, spread, (looks, 128))


def test_an_arriving_face_joins_the_group_of_its_nearest_member_within_the_distance() -> None:
    members = np.zeros((2, 128), dtype=np.float32)
    members[1, 0] = 1.0
    near, far = np.zeros(128), np.zeros(128)
    near[0] = 1.0 - 0.49  # 0.49 from b
    far[1] = 0.51  # 0.51 from a, farther from b
    assert grouping.assign(members, ["a", "b"], near) == "b"
    assert grouping.assign(members, ["a", "b"], far) is None
    assert grouping.assign(np.empty((0, 128), dtype=np.float32), [], near) is None


@pytest.mark.parametrize("method", grouping.METHODS)
def test_two_people_make_two_groups(method: str) -> None:
    rows = np.vstack([person(1, 6), person(2, 6)])
    labels = grouping.cluster(rows, method=method)
    assert labels == [0] * 6 + [1] * 6
    assert grouping.purity(labels, ["a"] * 6 + ["b"] * 6) == 1.0
    assert grouping.groups_per_person(labels, ["a"] * 6 + ["b"] * 6) == 1.0


def test_edges_agree_with_brute_force_across_blocks(monkeypatch) -> None:
    monkeypatch.setattr(grouping, "BLOCK", 7)
    rows = np.vstack([person(s, 5, 0.03) for s in range(6)])
    found = {tuple(p) for p in grouping.edges(rows, 0.5).tolist()}
    expected = {(i, j) for i, j in itertools.combinations(range(len(rows)), 2)
                if np.linalg.norm(rows[i] - rows[j]) <= 0.5}
    assert found == expected


def test_a_lonely_last_face_is_a_group_of_its_own() -> None:
    rows = np.vstack([person(1, 3), person(9, 1)])
    assert grouping.cluster(rows) == [0, 0, 0, 1]
    assert grouping.cluster(np.empty((0, 128))) == []


def test_whispers_split_a_chain_that_single_link_joins() -> None:
    """Two people, each a tight bunch, joined by one look-alike between them: single link chains them into one
    group; chinese whispers keeps two (the bridge goes to one side)."""
    a, b = np.zeros(128), np.zeros(128)
    b[0] = 0.9
    bridge = a.copy()
    bridge[0] = 0.45
    rng = np.random.default_rng(3)
    rows = np.vstack([a + rng.normal(0, 0.005, (8, 128)), [bridge], b + rng.normal(0, 0.005, (8, 128))])
    assert len(set(grouping.cluster(rows, 0.5, "link"))) == 1
    assert len(set(grouping.cluster(rows, 0.5, "whispers"))) == 2


def test_a_regroup_keeps_the_ids_of_the_groups_it_overlaps_most() -> None:
    old = {"g-a": ["1", "2", "3"], "g-b": ["4", "5"]}
    fresh = iter(["g-new"])
    clusters = [["4", "5", "6"], ["1", "2"], ["3", "7"]]
    assert grouping.stable_ids(old, clusters, lambda: next(fresh)) == {
        "g-a": ["1", "2"], "g-b": ["4", "5", "6"], "g-new": ["3", "7"]}


def test_the_users_merge_joins_the_clusters_its_members_fell_into() -> None:
    clusters = [["1", "2"], ["3"], ["4", "5"], ["6"]]
    assert grouping.honour_pins(clusters, [["2", "4"], ["gone"]]) == [["1", "2", "4", "5"], ["3"], ["6"]]


def test_an_ignored_face_is_covered_within_the_distance() -> None:
    kept = person(4, 3)
    assert grouping.covered(kept.astype(np.float32), person(4, 1)[0])
    assert not grouping.covered(kept.astype(np.float32), person(5, 1)[0])
    assert not grouping.covered(np.empty((0, 128), dtype=np.float32), person(5, 1)[0])


def test_purity_and_spread_count_what_they_say() -> None:
    truth = ["a", "a", "a", "b", "b", "c"]
    labels = [0, 0, 1, 1, 1, 2]  # one of a's faces sits with b
    assert grouping.purity(labels, truth) == pytest.approx(5 / 6)
    assert grouping.groups_per_person(labels, truth) == pytest.approx((2 + 1 + 1) / 3)
