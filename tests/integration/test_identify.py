"""`identify` end to end on real photos."""

import io
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from facedaemon.gallery.settings import GallerySettings
from facedaemon.identify import run_identify
from tests.realparts import SHARED_DATA

DATA = SHARED_DATA
IMAGES = DATA / "images"
KNOWN = DATA / "known_faces"

pytestmark = pytest.mark.needs_photos


@pytest.fixture
def faces(tmp_path: Path, gallery: Callable[..., GallerySettings]) -> GallerySettings:
    return gallery(tmp_path, "Obama", "Biden", flat=True, model="hog", tolerance=0.6, cache_dir=None)


def identify(faces: GallerySettings, images: list[Path]) -> tuple[int, list[dict]]:
    out = io.StringIO()
    code = run_identify(faces, images, scale=0.5, out=out)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_names_obama_and_biden(faces: GallerySettings) -> None:
    code, lines = identify(faces, [IMAGES / "obama.jpg", IMAGES / "biden.jpg"])
    assert code == 0
    assert [line["image"] for line in lines] == [str(IMAGES / "obama.jpg"), str(IMAGES / "biden.jpg")]
    (obama,) = lines[0]["faces"]
    (biden,) = lines[1]["faces"]
    assert obama["name"] == "Obama"
    assert biden["name"] == "Biden"
    assert set(obama) == {"name", "confidence", "distance", "box", "nearest", "quality"}
    assert obama["confidence"] > 0.5 and obama["distance"] < 0.6
    assert (lines[0]["width"], lines[0]["height"]) == (910, 1137)
    box = obama["box"]
    assert 0 <= box["y"] < box["y"] + box["h"] <= 1137 and 0 <= box["x"] < box["x"] + box["w"] <= 910
    assert obama["quality"]["judgeable"] and obama["quality"]["face_px"] >= 80


def test_obama_is_unknown_to_the_seed_gallery(tmp_path: Path, faces: GallerySettings) -> None:
    shutil.copytree(KNOWN, tmp_path / "known")
    code, lines = identify(replace(faces, faces_dir=tmp_path / "known", cache_dir=tmp_path / "cache"),
                           [IMAGES / "obama.jpg"])
    assert code == 0
    (face,) = lines[0]["faces"]
    assert face["name"] == "Unknown"
    assert face["distance"] > 0.6


def test_unreadable_image_is_an_error_line_and_exit_1(faces: GallerySettings, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_text("not an image")
    code, lines = identify(faces, [broken, IMAGES / "obama.jpg", tmp_path / "missing.jpg"])
    assert code == 1
    assert lines[0]["image"] == str(broken) and "error" in lines[0] and "faces" not in lines[0]
    assert lines[1]["faces"][0]["name"] == "Obama"
    assert "cannot read" in lines[2]["error"]


def test_missing_faces_dir_exits_2(faces: GallerySettings, tmp_path: Path) -> None:
    code, lines = identify(replace(faces, faces_dir=tmp_path / "nope"), [IMAGES / "obama.jpg"])
    assert (code, lines) == (2, [])


def test_without_faces_or_config_exits_2(capsys) -> None:
    from facedaemon.__main__ import main

    assert main(["identify", str(IMAGES / "obama.jpg")]) == 2
    assert "give --faces DIR or --config FILE" in capsys.readouterr().err
