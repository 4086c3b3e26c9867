"""Unknown faces grouped by who they look like: pure numpy, with dlib's chinese whispers at one boundary (whispers()).

Two steps, both on the 128-number encodings of the unknown tracks' best shots:

- **assign** (as a crop arrives): the group of the nearest member, if it is within GROUP_DISTANCE; else a new group;
- **regroup** (in the background): every member clustered afresh: an edge joins two faces within GROUP_DISTANCE,
  and chinese whispers (dlib) splits the graph where it is thin, so one look-alike pair does not chain two people
  together the way plain connected components ("link") would. Group ids stay stable (stable_ids): each new
  cluster keeps the id of the old group it shares most members with.

GROUP_DISTANCE is measured on real photos of 25 strangers (scripts/benchmarks/group_photos.py,
docs/performance.md "Unknown visitors, grouped"), not taken from the gallery tolerance (0.6), which is for
naming a face against a chosen photo, not for chaining strangers' looks together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

ENCODING_SIZE = 128
GROUP_DISTANCE = 0.5  # same person within this (docs/performance.md "Unknown visitors, grouped")
BLOCK = 1024  # rows per block of the pairwise distances: bounded memory (BLOCK × n float32)
METHODS = ("whispers", "link")


def as_matrix(encodings: Iterable[Sequence[float]] | np.ndarray) -> np.ndarray:
    rows = np.asarray(encodings if isinstance(encodings, np.ndarray) else list(encodings), dtype=np.float32)
    return rows.reshape(-1, ENCODING_SIZE)


def nearest(matrix: np.ndarray, query: np.ndarray) -> tuple[int, float]:
    """(row, distance) of the row nearest the query; (-1, inf) for no rows."""
    if len(matrix) == 0:
        return -1, float("inf")
    distances = np.linalg.norm(matrix - np.asarray(query, dtype=np.float32).reshape(ENCODING_SIZE), axis=1)
    row = int(np.argmin(distances))
    return row, float(distances[row])


def assign(matrix: np.ndarray, owners: Sequence[str], query: np.ndarray,
           threshold: float = GROUP_DISTANCE) -> str | None:
    """The owner (group id) of the member nearest the query, if within threshold; None: a new group."""
    row, distance = nearest(matrix, query)
    return owners[row] if row >= 0 and distance <= threshold else None


def edges(matrix: np.ndarray, threshold: float = GROUP_DISTANCE) -> np.ndarray:
    """(i, j) pairs, i < j, of rows within threshold: E×2 int64. Blocked over the upper triangle (float32 matrix
    products, which release the GIL: a regroup in a thread leaves the frames their share)."""
    rows = as_matrix(matrix)
    squares = np.einsum("ij,ij->i", rows, rows)
    limit = threshold * threshold
    found = [np.empty((0, 2), dtype=np.int64)]
    for start in range(0, len(rows), BLOCK):
        block = rows[start:start + BLOCK]
        d2 = squares[start:start + BLOCK, None] + squares[None, start:] - 2.0 * (block @ rows[start:].T)
        i, j = np.nonzero(d2 <= limit)
        keep = j > i  # the block's columns start at its own first row: j > i is the strict upper triangle
        found.append(np.stack([i[keep] + start, j[keep] + start], axis=1).astype(np.int64))
    return np.concatenate(found)


def cluster(matrix: np.ndarray, threshold: float = GROUP_DISTANCE, method: str = "whispers") -> list[int]:
    """A cluster label per row (labels are 0..k-1 in order of first appearance)."""
    count = len(matrix)
    if count == 0:
        return []
    pairs = edges(matrix, threshold)
    labels = whispers(count, pairs) if method == "whispers" else components(count, pairs)
    return canonical(labels)


def whispers(count: int, pairs: np.ndarray) -> list[int]:
    """Chinese whispers (dlib) on the graph, one connected component at a time; a row without an edge is its own
    cluster. Labels never cross components anyway; per component, each dlib call (which holds the GIL) is as short
    as one person's looks, so the recognition thread beside a regroup of 10,000 is not held for long (the
    components themselves are found in Python, which yields the GIL every few ms)."""
    import dlib  # the one boundary: dlib is loaded only where a regroup runs (the recognition worker)

    labels = np.arange(count)
    if len(pairs) == 0:
        return labels.tolist()
    component = np.asarray(components(count, pairs))
    pairs = pairs[np.argsort(component[pairs[:, 0]], kind="stable")]
    bounds = np.flatnonzero(np.diff(component[pairs[:, 0]])) + 1
    offset = count  # each component's labels after the last one's: unique across components
    for chunk in np.split(pairs, bounds):
        nodes, local = np.unique(chunk, return_inverse=True)
        found = dlib.chinese_whispers([(int(a), int(b)) for a, b in local.reshape(-1, 2).tolist()])
        labels[nodes] = np.asarray(found) + offset
        offset += len(nodes)
    return labels.tolist()


def components(count: int, pairs: np.ndarray) -> list[int]:
    """Connected components (single link) by union-find: the simpler method the benchmark compares with."""
    parent = list(range(count))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs.tolist():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [root(x) for x in range(count)]


def canonical(labels: Sequence[int]) -> list[int]:
    """Labels renumbered 0, 1, ... in order of first appearance (equal partitions compare equal)."""
    seen: dict[int, int] = {}
    return [seen.setdefault(label, len(seen)) for label in labels]


def partition(members: Sequence[str], labels: Sequence[int]) -> list[list[str]]:
    """Members grouped by label, clusters in order of first appearance."""
    clusters: dict[int, list[str]] = {}
    for member, label in zip(members, labels, strict=True):
        clusters.setdefault(label, []).append(member)
    return list(clusters.values())


def honour_pins(clusters: list[list[str]], pinned: Iterable[Iterable[str]]) -> list[list[str]]:
    """Clusters joined wherever the user said members are one person (a merge): their word beats the distances."""
    where = {member: index for index, members in enumerate(clusters) for member in members}
    parent = list(range(len(clusters)))

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for group in pinned:
        touched = sorted({root(where[m]) for m in group if m in where})
        for other in touched[1:]:
            parent[other] = touched[0]
    joined: dict[int, list[str]] = {}
    for index, members in enumerate(clusters):
        joined.setdefault(root(index), []).extend(members)
    return list(joined.values())


def stable_ids(old: Mapping[str, Iterable[str]], clusters: list[list[str]],
               new_id: Callable[[], str]) -> dict[str, list[str]]:
    """The new clusters under the old ids: the pairs (cluster, old group) sharing most members first, each id and
    each cluster used once; a cluster left over gets new_id()."""
    owner = {member: gid for gid, members in old.items() for member in members}
    overlaps: dict[tuple[int, str], int] = {}
    for index, members in enumerate(clusters):
        for member in members:
            gid = owner.get(member)
            if gid is not None:
                overlaps[index, gid] = overlaps.get((index, gid), 0) + 1
    result: dict[str, list[str]] = {}
    placed: set[int] = set()
    for (index, gid), _ in sorted(overlaps.items(), key=lambda item: (-item[1], item[0][0], item[0][1])):
        if index not in placed and gid not in result:
            result[gid] = clusters[index]
            placed.add(index)
    for index, members in enumerate(clusters):
        if index not in placed:
            result[new_id()] = members
    return result


def purity(labels: Sequence[int], truth: Sequence[str]) -> float:
    """Share of faces whose group's most common person is theirs (1.0: no group mixes people)."""
    counts: dict[int, dict[str, int]] = {}
    for label, person in zip(labels, truth, strict=True):
        counts.setdefault(label, {}).setdefault(person, 0)
        counts[label][person] += 1
    return sum(max(c.values()) for c in counts.values()) / max(1, len(truth))


def groups_per_person(labels: Sequence[int], truth: Sequence[str]) -> float:
    """Mean number of groups a person's faces are spread over (1.0: each person in one group)."""
    spread: dict[str, set[int]] = {}
    for label, person in zip(labels, truth, strict=True):
        spread.setdefault(person, set()).add(label)
    return sum(len(s) for s in spread.values()) / max(1, len(spread))


def covered(matrix: np.ndarray, query: np.ndarray, threshold: float = GROUP_DISTANCE) -> bool:
    """The query is within threshold of a row (an ignored group's kept face)."""
    return nearest(matrix, query)[1] <= threshold
