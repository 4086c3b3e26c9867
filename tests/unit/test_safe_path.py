from pathlib import Path

from facedaemon.safe_path import regular_file_inside


def test_only_regular_files_really_inside_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "cam").mkdir(parents=True)
    (root / "cam" / "a.jpg").write_bytes(b"x")
    (tmp_path / "secret").write_bytes(b"s")
    (root / "cam" / "link.jpg").symlink_to(tmp_path / "secret")
    (root / "linked").symlink_to(root / "cam", target_is_directory=True)

    assert regular_file_inside(root, "cam", "a.jpg") == (root / "cam" / "a.jpg").resolve()
    assert regular_file_inside(root, "cam", "link.jpg") is None  # a symlink is not followed
    assert regular_file_inside(root, "linked", "a.jpg") is None  # nor a symlinked folder
    assert regular_file_inside(root, "..", "secret") is None  # nothing outside the folder
    assert regular_file_inside(root, "cam") is None  # a folder is not a file
    assert regular_file_inside(root, "cam", "missing.jpg") is None
    assert regular_file_inside(root, "cam", "x" * 5000) is None  # too long for the filesystem: no exception
    assert regular_file_inside(root, "cam", "a\0.jpg") is None
