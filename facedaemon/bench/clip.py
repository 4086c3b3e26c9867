"""Test clips built from still photos with the ffmpeg the daemon uses, and what is on screen when.

Used by the benchmark and by the test suite (tests/e2e/media.py re-exports these), so it lives in the package.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from facedaemon.children.ffmpeg import find_ffmpeg

KNOWN_NAME = "Obama"


def make_people_clip(shared: Path, out: Path, seconds: float = 6.0, fps: int = 30) -> Path:
    """720p: Obama moves left to right the whole time; Biden shows up between 2 s and 4 s."""
    images = shared / "images"
    graph = (
        # Head and shoulders, faces 140-170 px tall: found by HOG at the default scale 0.25.
        "[1:v]crop=iw:ih*0.55:0:0,scale=-2:340,format=rgb24[a];"
        "[2:v]crop=iw:ih*0.38:0:0,scale=-2:420,format=rgb24[b];"
        f"[0:v][a]overlay=x='20+t*{240 / seconds:.3f}':y=150:shortest=1[v1];"
        "[v1][b]overlay=x=780:y=120:enable='between(t,2,4)',format=yuv420p[v]"
    )
    _render(images, out, seconds, fps, graph, ["obama.jpg", "biden.jpg"])
    return out


@dataclass(frozen=True)
class EntryClip:
    """A clip where one known face enters at `appear_at` seconds and stays, moving, to the end."""

    path: Path
    fps: int
    frames: int
    appear_at: float
    name: str = KNOWN_NAME

    @property
    def first_face_frame(self) -> int:
        return math.ceil(self.appear_at * self.fps - 1e-9)

    def face_on_screen(self, index: int) -> bool:
        """Ground truth for frame `index` of the clip (indexes past the end wrap: the source loops)."""
        return index % self.frames >= self.first_face_frame


def make_entry_clip(shared: Path, out: Path, seconds: float = 8.0, fps: int = 30,
                    appear_at: float = 2.0, *, mover: bool = False, size: tuple[int, int] = (1280, 720),
                    face_px: int = 150) -> EntryClip:
    """720p (or `size`): an empty scene, then Obama (face ~`face_px` tall) appears at `appear_at` and walks right
    at 60 px/s.
    mover: a box also crosses the bottom of the picture the whole time (a passing car), so something moves on
    every frame (the encoder never sees a still picture; the benchmark's floor needs that)."""
    width, height = size
    car_y = round(height * 560 / 720)
    car = (f"color=c=0x303840:s=200x90:r={fps}[car];[0:v][car]overlay=x='mod(t*240,{width + 200})-200':y={car_y}:"
           "shortest=1" if mover else "[0:v]null")
    head = 2 * round(340 * face_px / 150 / 2)  # the head-and-shoulders crop whose face is ~150 px at 340 px
    graph = (
        f"[1:v]crop=iw:ih*0.55:0:0,scale=-2:{head},format=rgb24[a];"
        f"{car}[bg];"
        f"[bg][a]overlay=x='100+(t-{appear_at})*60':y={round(height * 150 / 720)}:enable='gte(t,{appear_at})':"
        "shortest=1,format=yuv420p[v]"
    )
    _render(shared / "images", out, seconds, fps, graph, ["obama.jpg"], size)
    return EntryClip(out, fps, count_frames(out), appear_at)


def count_frames(path: Path) -> int:
    """Frames in a video, by decoding it (container headers can be wrong)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    count = 0
    try:
        while capture.grab():
            count += 1
    finally:
        capture.release()
    return count


def _render(images: Path, out: Path, seconds: float, fps: int, graph: str, photos: list[str],
            size: tuple[int, int] = (1280, 720)) -> None:
    cmd = [find_ffmpeg(None), "-y", "-loglevel", "error",
           "-f", "lavfi", "-i", f"color=c=0x505050:s={size[0]}x{size[1]}:r={fps}:d={seconds}"]
    for photo in photos:
        cmd += ["-loop", "1", "-i", str(images / photo)]
    cmd += ["-filter_complex", graph, "-map", "[v]", "-t", str(seconds), "-r", str(fps),
            "-c:v", "libx264", "-preset", "veryfast", "-g", str(fps), str(out)]
    subprocess.run(cmd, check=True, timeout=120, capture_output=True)


def make_bench_gallery(shared: Path, out: Path) -> Path:
    """faces/Obama/{obama2,obama3}.jpg plus the four other people of known_faces/, as copies: the gallery follows
    symlinks only inside faces_dir, as a user's would."""
    obama = out / KNOWN_NAME
    obama.mkdir(parents=True, exist_ok=True)
    for photo in ("obama2.jpg", "obama3.jpg"):
        shutil.copyfile(shared / "images" / photo, obama / photo)
    for photo in sorted((shared / "known_faces").glob("*.jpg")):
        shutil.copyfile(photo, out / photo.name)
    return out
