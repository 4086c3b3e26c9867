"""Build test videos from the shared photos with the same ffmpeg the daemon uses, and read HLS back."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedaemon.bench.clip import make_entry_clip, make_people_clip
from tests import ffmpegs

__all__ = ["StrangerClip", "colour_pixels", "decode_video", "make_entry_clip", "make_people_clip",
           "make_stranger_clip", "make_visit_clip", "make_visits_then_stay"]


def decode_video(path: Path) -> list[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        capture.release()
    return frames


def colour_pixels(frame: np.ndarray, bgr: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels are within tolerance of a colour (H.264 shifts colours a little)."""
    diff = np.abs(frame.astype(np.int16) - np.array(bgr, np.int16)).max(axis=2)
    return int((diff <= tolerance).sum())


def gallery(shared: Path, faces: Path, obama: tuple[str, ...] = ("obama2.jpg", "obama3.jpg"),
            others: bool = False) -> Path:
    """The tests' faces_dir: faces/Obama/ with these photos of images/ (the known person of the clips, which show
    obama.jpg; none: no Obama), and with `others` the four people of known_faces/ in the seed's flat layout."""
    import shutil

    faces.mkdir(parents=True, exist_ok=True)
    if obama:
        (faces / "Obama").mkdir(exist_ok=True)
    for name in obama:
        shutil.copy(shared / "images" / name, faces / "Obama" / name)
    for photo in sorted((shared / "known_faces").glob("*.jpg")) if others else ():
        shutil.copy(photo, faces / photo.name)
    return faces


def obama_gallery(shared: Path, faces: Path) -> Path:
    """faces/Obama/ with obama2.jpg and obama3.jpg."""
    return gallery(shared, faces)


Box = tuple[int, int, int, int]  # (top, right, bottom, left), like the daemon's boxes

CLOCK_Y, CLOCK_SIZE, CLOCK_STEP = 698, 12, 5  # the frame-index marker: a white square moving 5 px per frame


@dataclass(frozen=True)
class StrangerClip:
    """Obama (known) standing still on the left, Biden (a stranger) gliding right and back on the right.

    Both faces are about 190 px tall at 720p and on screen in every frame. Biden's motion is a triangle wave over
    the clip, so a looping source shows no jump. A white square at the bottom moves 5 px per frame: it tells which
    frame of the clip an output frame shows, even after frames were dropped or re-encoded.
    """

    path: Path
    fps: int
    frames: int
    known_box: Box  # Obama's face in every frame (he does not move)
    stranger_first: Box  # Biden's face in frame 0
    travel: int  # pixels Biden moves right by mid-clip
    clock: tuple[float, ...]  # centre x of the marker in each frame of the clip

    def stranger_box(self, index: int) -> Box:
        """Where Biden's face is in frame `index` (the same expression ffmpeg placed him with)."""
        shift = self.stranger_x(index) - self.stranger_x(0)
        top, right, bottom, left = self.stranger_first
        return top, right + shift, bottom, left + shift

    def stranger_x(self, index: int) -> int:
        t = (index % self.frames) / self.fps
        seconds = self.frames / self.fps
        return int(self.travel * (1 - abs(1 - 2 * t / seconds))) & ~1  # overlay rounds to even x (4:2:0)

    def index_of(self, frame: np.ndarray) -> int | None:
        """Which frame of the clip `frame` shows, from the marker; None if the marker cannot be read."""
        centre = marker_centre(frame)
        if centre is None:
            return None
        best = min(range(len(self.clock)), key=lambda i: abs(self.clock[i] - centre))
        return best if abs(self.clock[best] - centre) <= CLOCK_STEP / 2 else None


def marker_centre(frame: np.ndarray) -> float | None:
    band = frame[CLOCK_Y:CLOCK_Y + CLOCK_SIZE].mean(axis=2).max(axis=0)
    lit = np.flatnonzero(band > 180)
    return float(lit.min() + lit.max()) / 2 if lit.size else None


def make_stranger_clip(shared: Path, out: Path, seconds: float = 8.0, fps: int = 30,
                       travel: int = 240) -> StrangerClip:
    """720p, both faces ~190 px for the whole clip; Biden moves `travel` px right and back (60 px/s by default)."""
    import cv2

    from facedaemon.faces.engine import face_recognition_module

    face_recognition = face_recognition_module()  # a bare import flips Pillow's truncated-file global for the session
    images = shared / "images"
    graph = (
        "[1:v]crop=560:625:200:0,scale=-2:470,format=rgb24[a];"  # head and shoulders, face ~200 px
        "[2:v]crop=620:840:270:0,scale=-2:520,format=rgb24[b];"
        "[3:v]format=rgb24[c];"
        "[0:v][a]overlay=x=40:y=140[v1];"
        f"[v1][b]overlay=x='640+{travel}*(1-abs(1-2*t/{seconds}))':y=110[v2];"
        f"[v2][c]overlay=x='10+n*{CLOCK_STEP}':y={CLOCK_Y},format=yuv420p[v]"
    )
    cmd = [ffmpegs.SUITE(), "-y", "-loglevel", "error",
           "-f", "lavfi", "-i", f"color=c=0x505050:s=1280x720:r={fps}:d={seconds}",
           "-loop", "1", "-i", str(images / "obama.jpg"), "-loop", "1", "-i", str(images / "biden.jpg"),
           "-f", "lavfi", "-i", f"color=c=white:s={CLOCK_SIZE}x{CLOCK_SIZE}:r={fps}",
           "-filter_complex", graph, "-map", "[v]", "-t", str(seconds), "-r", str(fps),
           "-c:v", "libx264", "-preset", "veryfast", "-g", str(fps), str(out)]
    subprocess.run(cmd, check=True, timeout=120, capture_output=True)
    frames = decode_video(out)
    clock = tuple(marker_centre(frame) for frame in frames)
    assert None not in clock, "the frame marker is missing from the clip"
    # Ground truth for the faces: dlib at full resolution on frame 0 (the daemon detects at recognition.scale).
    found = sorted(face_recognition.face_locations(cv2.cvtColor(frames[0], cv2.COLOR_BGR2RGB), 1),
                   key=lambda box: box[3])
    assert len(found) == 2, f"expected Obama and Biden in frame 0 of {out}, found {found}"
    return StrangerClip(out, fps, len(frames), found[0], found[1], travel, clock)  # type: ignore[arg-type]


def make_pair_clip(left: Path, right: Path, out: Path, seconds: float = 6.0, fps: int = 15) -> Path:
    """720p: two portraits side by side the whole time, each face ~170 px tall, drifting slowly (a live scene).

    Sized for the known_faces/ portraits (faces fill 40-60 % of the photo height); HOG finds both at scale 0.25.
    """
    import subprocess

    graph = (
        "[1:v]scale=-2:360,format=rgb24[a];[2:v]scale=-2:360,format=rgb24[b];"
        f"[0:v][a]overlay=x='100+t*{60 / seconds:.3f}':y=180:shortest=1[v1];"
        f"[v1][b]overlay=x='760-t*{60 / seconds:.3f}':y=180,format=yuv420p[v]"
    )
    cmd = [ffmpegs.SUITE(), "-y", "-loglevel", "error",
           "-f", "lavfi", "-i", f"color=c=0x505050:s=1280x720:r={fps}:d={seconds}",
           "-loop", "1", "-i", str(left), "-loop", "1", "-i", str(right),
           "-filter_complex", graph, "-map", "[v]", "-t", str(seconds), "-r", str(fps),
           "-c:v", "libx264", "-preset", "veryfast", "-g", str(fps), str(out)]
    subprocess.run(cmd, check=True, timeout=120, capture_output=True)
    return out


def make_visit_clip(shared: Path, out: Path, seconds: float = 30.0, fps: int = 10,
                    visit: tuple[float, float] = (2.0, 22.0)) -> Path:
    """640x360 (cheap to decode and encode twice on a busy machine): Obama (face ~80 px) still on the left the whole
    time, Biden (a stranger, face ~90 px) right of the middle from visit[0] to visit[1] s; looped, one visit per
    loop, long enough to be judged even when the worker gets to a camera only every few seconds."""
    images = shared / "images"
    graph = (
        "[1:v]crop=iw:ih*0.55:0:0,scale=-2:170,format=rgb24[a];"
        "[2:v]crop=iw:ih*0.38:0:0,scale=-2:210,format=rgb24[b];"
        "[0:v][a]overlay=x=30:y=75:shortest=1[v1];"
        f"[v1][b]overlay=x=390:y=60:enable='between(t,{visit[0]},{visit[1]})',format=yuv420p[v]"
    )
    cmd = [ffmpegs.SUITE(), "-y", "-loglevel", "error",
           "-f", "lavfi", "-i", f"color=c=0x505050:s=640x360:r={fps}:d={seconds}",
           "-loop", "1", "-i", str(images / "obama.jpg"), "-loop", "1", "-i", str(images / "biden.jpg"),
           "-filter_complex", graph, "-map", "[v]", "-t", str(seconds), "-r", str(fps),
           "-c:v", "libx264", "-preset", "veryfast", "-g", str(fps), str(out)]
    subprocess.run(cmd, check=True, timeout=120, capture_output=True)
    return out


VISITS_THEN_STAY = ((1.0, 3.5), (5.5, 8.0), (10.0, 23.5))  # Biden's times on screen in each loop
VISITS_LOOP_SECONDS = 24.0


def make_visits_then_stay(shared: Path, out: Path, fps: int = 15) -> Path:
    """make_people_clip's picture (720p; Obama walking, faces 140-170 px) in a 24 s loop where Biden (a stranger)
    comes twice for 2.5 s, then stays 13.5 s (VISITS_THEN_STAY): each of his appearances is a new track and a new
    crop (a track ends 1 s after its face is lost), and the stay shows a name given to his group without his
    absence in the way. The head-and-shoulders cut-outs are made once with Pillow, so ffmpeg only overlays them
    (rendering stays well inside its timeout on a loaded machine)."""
    from PIL import Image

    from facedaemon.children.ffmpeg import find_ffmpeg

    cutouts = []
    for photo, share, height in (("obama.jpg", 0.55, 340), ("biden.jpg", 0.38, 420)):
        image = Image.open(shared / "images" / photo).convert("RGB")
        image = image.crop((0, 0, image.width, int(image.height * share)))
        width = round(image.width * height / image.height / 2) * 2
        cutout = out.with_name(f"{out.stem}-{Path(photo).stem}.png")
        image.resize((width, height), Image.Resampling.LANCZOS).save(cutout)
        cutouts.append(cutout)
    shown = "+".join(f"between(t,{start},{end})" for start, end in VISITS_THEN_STAY)
    graph = (
        "[0:v][1:v]overlay=x='20+t*10':y=150:shortest=1[v1];"
        f"[v1][2:v]overlay=x=780:y=120:enable='{shown}',format=yuv420p[v]"
    )
    cmd = [find_ffmpeg(None), "-y", "-loglevel", "error",
           "-f", "lavfi", "-i", f"color=c=0x505050:s=1280x720:r={fps}:d={VISITS_LOOP_SECONDS}"]
    for cutout in cutouts:
        cmd += ["-loop", "1", "-framerate", str(fps), "-i", str(cutout)]
    cmd += ["-filter_complex", graph, "-map", "[v]", "-t", str(VISITS_LOOP_SECONDS), "-r", str(fps),
            "-c:v", "libx264", "-preset", "veryfast", "-g", str(fps), str(out)]
    subprocess.run(cmd, check=True, timeout=300, capture_output=True)
    return out
