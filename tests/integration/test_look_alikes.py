"""The "not this person" rule, with real encodings of two look-alikes (ChengHaoXie vs KaiYuChen: distance 0.47,
inside the default tolerance 0.6, so without a negative example KaiYuChen is named ChengHaoXie)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from facedaemon.faces.matcher import KnownFaces, match, match_many
from facedaemon.faces.negatives import Negatives, apply_negatives, refine
from facedaemon.faces.types import UNKNOWN
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
