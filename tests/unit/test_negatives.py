"""The "not this person" rule, with real encodings of two look-alikes (ChengHaoXie vs KaiYuChen: distance 0.47,
inside the default tolerance 0.6, so without a negative example KaiYuChen is named ChengHaoXie)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from facedaemon.faces.matcher import KnownFaces, match, match_many
from facedaemon.faces.negatives import Negatives, apply_negatives, person_distances_within, refine, rejects
from facedaemon.faces.types import UNKNOWN
from facedaemon.gallery.layout import NEGATIVE_FILE
from tests.realparts import SHARED_DATA, require_photos

TOLERANCE = 0.6
DATA = SHARED_DATA


def encode(data: bytes) -> np.ndarray:
    from facedaemon.gallery.load import analyse_image

    status, encoding, _ = analyse_image(data, model="hog", upsample=1)
    assert status == "ok" and encoding is not None
    return encoding


def another_shot(path: Path) -> bytes:
    """The same face as a different picture: smaller, mirrored, recompressed (a new sighting, not the same bytes)."""
    from PIL import Image, ImageOps

    image = ImageOps.mirror(Image.open(path).convert("RGB"))
    image.thumbnail((480, 480))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def faces() -> dict[str, np.ndarray]:
    known = DATA / "known_faces"
    require_photos()
    return {
        "C": encode((known / "ChengHaoXie.jpg").read_bytes()),
        "C2": encode(another_shot(known / "ChengHaoXie.jpg")),
        "K": encode((known / "KaiYuChen.jpg").read_bytes()),
        "K2": encode(another_shot(known / "KaiYuChen.jpg")),
    }


def test_the_look_alikes_are_confused_without_a_negative(faces) -> None:
    known = KnownFaces.from_entries([("ChengHaoXie", faces["C"])])
    wrong = match(known, faces["K2"], TOLERANCE)
    assert wrong.name == "ChengHaoXie" and 0.35 < wrong.distance < TOLERANCE


def test_a_negative_stops_the_wrong_match_and_keeps_the_right_one(faces) -> None:
    known = KnownFaces.from_entries([("ChengHaoXie", faces["C"])])
    negatives = Negatives.from_entries([("ChengHaoXie", faces["K"])])  # "this face is not ChengHaoXie"
    queries = np.stack([faces["K2"], faces["C2"], faces["C"]])
    decided = apply_negatives(known, negatives, queries, match_many(known, queries, TOLERANCE), TOLERANCE)
    assert decided[0].name == UNKNOWN, "another picture of the look-alike is no longer named ChengHaoXie"
    assert decided[0].confidence == 0.0, "a face the user ruled out is a confident Unknown (full vote weight)"
    assert [m.name for m in decided[1:]] == ["ChengHaoXie", "ChengHaoXie"], "the real person is still named"


def test_a_rejected_name_falls_back_to_the_next_person_within_tolerance(faces) -> None:
    known = KnownFaces.from_entries([("ChengHaoXie", faces["C"]), ("KaiYuChen", faces["K"])])
    negatives = Negatives.from_entries([("KaiYuChen", faces["K2"])])
    first = match(known, faces["K2"], TOLERANCE)
    assert first.name == "KaiYuChen"
    decided = refine(known, negatives, faces["K2"], first, TOLERANCE)
    assert decided.name == "ChengHaoXie" and decided.distance == pytest.approx(np.linalg.norm(faces["K2"] - faces["C"]))


def test_negatives_of_other_people_change_nothing(faces) -> None:
    known = KnownFaces.from_entries([("ChengHaoXie", faces["C"])])
    negatives = Negatives.from_entries([("Someone Else", faces["K"])])
    found = match(known, faces["K2"], TOLERANCE)
    assert refine(known, negatives, faces["K2"], found, TOLERANCE) is found


def test_no_negatives_is_the_plain_match() -> None:
    known = KnownFaces.from_entries([("A", np.zeros(128))])
    matches = match_many(known, np.zeros((2, 128)), TOLERANCE)
    assert apply_negatives(known, Negatives(), np.zeros((2, 128)), matches, TOLERANCE) is matches


def test_rule_edges_with_plain_vectors() -> None:
    a, b = np.zeros(128), np.zeros(128)
    b[0] = 0.4
    negatives = Negatives.from_entries([("P", b)])
    query = np.zeros(128)
    query[0] = 0.2  # exactly between the photo (a) and the negative (b)
    assert not rejects(negatives, "P", query, 0.2), "a tie keeps the name: only a nearer negative rejects"
    assert rejects(negatives, "P", query, 0.2 + 1e-6)
    assert negatives.nearest("Q", query) == float("inf")
    assert len(negatives) == 1 and negatives.people == ("P",)
    unknown = match(KnownFaces.from_entries([("P", a)]), np.full(128, 0.5), TOLERANCE)
    assert refine(KnownFaces.from_entries([("P", a)]), negatives, np.full(128, 0.5), unknown, TOLERANCE) is unknown


def test_person_distances_within_agrees_with_brute_force() -> None:
    rng = np.random.default_rng(7)
    rows = rng.normal(0, 0.08, (500, 128))
    names = [f"p{i % 40}" for i in range(500)]
    known = KnownFaces(tuple(names), rows)
    query = rows[3] + rng.normal(0, 0.02, 128)
    exact = np.linalg.norm(known.encodings.astype(np.float64) - query, axis=1)
    for within in (0.3, 0.9, 1.2):
        expected: dict[str, float] = {}
        for name, distance in zip(names, exact.tolist(), strict=True):
            if distance <= within:
                expected[name] = min(distance, expected.get(name, distance))
        found = person_distances_within(known, query, within)
        assert found.keys() == expected.keys()
        assert all(found[n] == pytest.approx(expected[n], abs=1e-9) for n in found)
    assert person_distances_within(KnownFaces(), query, 1.0) == {}


@pytest.mark.parametrize("name", ["not-3f9c0a1b2c4d.jpg", "a.png", "A_b-9.webp"])
def test_negative_file_names_accepted(name: str) -> None:
    assert NEGATIVE_FILE.match(name)


@pytest.mark.parametrize("name", ["../x.jpg", ".hidden.jpg", "a/b.jpg", "a.jpg.txt", "a..jpg", "x.JPG.", "a b.jpg",
                                  "a.gif", "", "x" * 90 + ".jpg", "a.jpg\n"])
def test_negative_file_names_refused(name: str) -> None:
    assert not NEGATIVE_FILE.match(name)
