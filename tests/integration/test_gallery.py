"""Gallery loading with the real face models on copies of the shared test photos."""

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facedaemon.gallery.layout import GalleryError
from facedaemon.gallery.load import load_gallery
from facedaemon.gallery.settings import GallerySettings
from tests.realparts import SHARED_DATA

DATA = SHARED_DATA
IMAGES = DATA / "images"

pytestmark = pytest.mark.needs_photos


def copy(name: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(IMAGES / name, dest)
    return dest


@pytest.fixture
def faces(tmp_path: Path, gallery: Callable[..., GallerySettings]) -> GallerySettings:
    """Both layouts: a folder of photos for Obama, a single file for Biden."""
    settings = gallery(tmp_path, "Obama", "Biden", flat={"Biden"})
    obama = settings.faces_dir / "Obama"
    (obama / "obama3.jpg").rename(obama / "b.JPG")  # an upper-case suffix is an image too
    return settings


@pytest.fixture
def empty(tmp_path: Path, gallery: Callable[..., GallerySettings]) -> GallerySettings:
    """An empty faces folder, no cache."""
    return gallery(tmp_path, cache_dir=None)


def skipped_names(summary) -> dict[str, str]:
    return {path.name: reason for path, reason in summary.skipped}


def test_both_layouts_and_cache_hit(faces: GallerySettings) -> None:
    cache = faces.cache_dir
    known, summary = load_gallery(faces)
    assert summary.people == ("Biden", "Obama")
    assert sorted(known.names) == ["Biden", "Obama", "Obama"]
    assert (summary.images, summary.encoded, summary.cached, summary.skipped) == (3, 3, 0, ())
    assert (cache / "encodings.npz").is_file()

    again, second = load_gallery(faces)
    assert (second.encoded, second.cached, second.images) == (0, 3, 3)
    assert np.allclose(np.sort(again.encodings, axis=0), np.sort(known.encodings, axis=0))


def test_renamed_and_duplicated_files_are_not_re_encoded(faces: GallerySettings) -> None:
    load_gallery(faces)
    root = faces.faces_dir
    (root / "Obama" / "obama2.jpg").rename(root / "Obama" / "renamed.jpg")
    shutil.copyfile(root / "Biden.jpg", root / "Joe.jpg")
    _, summary = load_gallery(faces)
    assert summary.encoded == 0
    assert summary.people == ("Biden", "Joe", "Obama")


def test_same_content_twice_is_encoded_once(empty: GallerySettings) -> None:
    root = empty.faces_dir
    copy("obama2.jpg", root / "Obama" / "one.jpg")
    copy("obama2.jpg", root / "Obama" / "two.jpg")
    known, summary = load_gallery(empty)
    assert summary.encoded == 1
    assert known.names == ("Obama", "Obama")


def test_bad_images_are_skipped_with_reasons(tmp_path: Path, gallery: Callable[..., GallerySettings]) -> None:
    settings = gallery(tmp_path, "Obama", each=1)
    root = settings.faces_dir
    (root / "Obama" / "empty.jpg").write_bytes(b"")
    (root / "Obama" / "notes.jpg").write_text("this is not a picture\n")
    data = (IMAGES / "obama3.jpg").read_bytes()
    (root / "Obama" / "truncated.jpg").write_bytes(data[: len(data) // 2])
    Image.new("RGB", (640, 480), (128, 128, 128)).save(root / "Obama" / "gray.png")
    Image.new("L", (7000, 6000), 90).save(root / "Obama" / "huge.png")  # 42 MP > 40 MP limit
    # ~80 KB declaring 40 MP of 16-bit grey (cost the recognition worker 1.3 GB), and a TIFF named .jpg
    Image.fromarray(np.zeros((5000, 8000), np.uint16)).save(root / "Obama" / "bomb.png", compress_level=9)
    Image.new("RGB", (64, 64)).save(root / "Obama" / "tiff.jpg", "TIFF")
    (root / "Obama" / "readme.txt").write_text("ignored: not an image name\n")

    known, summary = load_gallery(settings)
    skipped = skipped_names(summary)
    assert set(skipped) == {"empty.jpg", "notes.jpg", "truncated.jpg", "gray.png", "huge.png", "bomb.png",
                            "tiff.jpg"}
    assert "too large to decode: 8000x5000 I;16" in skipped["bomb.png"] and "limit" in skipped["bomb.png"]
    assert "not an allowed image format" in skipped["tiff.jpg"]
    assert "empty" in skipped["empty.jpg"]
    assert "not an allowed image format" in skipped["notes.jpg"]
    assert "truncated" in skipped["truncated.jpg"]
    assert skipped["gray.png"] == "no face found"
    assert "too large" in skipped["huge.png"]
    assert known.names == ("Obama",)

    # Bad images are remembered too: nothing is decoded again.
    _, second = load_gallery(settings)
    assert second.encoded == 0
    assert set(skipped_names(second)) == set(skipped)


def test_rgba_and_exif_rotated_images_find_the_face(empty: GallerySettings) -> None:
    root = empty.faces_dir
    copy("32bit.png", root / "Alpha" / "32bit.png")
    sideways = Image.open(IMAGES / "obama2.jpg").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: display rotated 90° clockwise
    (root / "Rotated").mkdir()
    sideways.save(root / "Rotated" / "tagged.jpg", exif=exif)
    known, summary = load_gallery(empty)
    assert summary.skipped == ()
    assert known.people == ("Alpha", "Rotated")


def test_hidden_entries_and_cache_dir_are_ignored(faces: GallerySettings) -> None:
    root = faces.faces_dir
    cache = root / ".facedaemon-cache"
    faces = replace(faces, cache_dir=cache)
    copy("obama2.jpg", root / ".Hidden" / "x.jpg")
    copy("obama2.jpg", root / "Obama" / ".secret.jpg")
    _, first = load_gallery(faces)
    (cache / "stray.jpg").write_bytes((IMAGES / "biden.jpg").read_bytes())
    _, second = load_gallery(faces)
    assert first.people == second.people == ("Biden", "Obama")
    assert second.images == 3


def test_corrupt_cache_is_rebuilt(faces: GallerySettings, caplog: pytest.LogCaptureFixture) -> None:
    cache = faces.cache_dir
    cache.mkdir()
    (cache / "encodings.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    _, summary = load_gallery(faces)
    assert summary.encoded == 3
    assert "unreadable" in caplog.text
    _, second = load_gallery(faces)
    assert second.encoded == 0


def test_missing_faces_dir_is_a_clear_error(empty: GallerySettings, tmp_path: Path) -> None:
    with pytest.raises(GalleryError, match="does not exist"):
        load_gallery(replace(empty, faces_dir=tmp_path / "nope"))


def test_empty_faces_dir_gives_empty_gallery(empty: GallerySettings) -> None:
    known, summary = load_gallery(empty)
    assert len(known) == 0
    assert summary.people == ()


def test_symlinks_are_followed_only_inside_faces_dir(tmp_path: Path,
                                                    gallery: Callable[..., GallerySettings]) -> None:
    settings = gallery(tmp_path, "Obama", each=1)
    root = settings.faces_dir
    outside = copy("biden.jpg", tmp_path / "elsewhere" / "secret.jpg")
    (root / "Obama" / "leak.jpg").symlink_to(outside)  # x.jpg -> /etc/shadow was read
    (root / "Linked").symlink_to(outside.parent, target_is_directory=True)
    (root / "Biden.jpg").symlink_to(outside)
    (root / "Alias").symlink_to(root / "Obama", target_is_directory=True)  # inside: still followed

    known, summary = load_gallery(settings)
    assert set(known.names) == {"Obama", "Alias"}
    assert summary.images == 2


def test_a_bad_photo_is_warned_about_once_not_at_every_reload(tmp_path: Path, gallery, caplog) -> None:
    settings = gallery(tmp_path, "Obama", each=1)
    (settings.faces_dir / "Obama" / "notes.jpg").write_text("not a picture\n")
    caplog.set_level("DEBUG")
    for _ in range(3):
        load_gallery(settings)
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "notes.jpg" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
