"""The labels benchmark's real-footage row: a known person really turning his head, not a warped photo.

The footage is not part of this repository and is never downloaded at run time; fetch it once (FETCH) into a
folder and pass that folder (`facedaemon bench --labels --footage DIR`). obama.mp4 (cleardusk/3DDFA at 3545f355,
1280x720, 25 fps, 55 frames, 2.2 s): Barack Obama speaking, turning his head left and right; nobody else is in
the frame, so every face drawn on it is his (the truth box is the whole frame). The bench gallery holds the shared
obama2.jpg and obama3.jpg (bench/labels.py make_gallery), other photos of him.

The clip is scaled and padded to 720p once, then looped by the camera's own source for the stated length: the
seam is a jump cut, as in the issue's measurement (a 4 s clip, looped).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from facedaemon.bench.labels_clip import FOOTAGE, HEIGHT, WIDTH, Durations, LabelsClip

FOOTAGE_FILE = "obama.mp4"
FOOTAGE_COMMIT = "3545f355bfc71e5748fa915b13932958363135d7"
FETCH = (f"git clone https://github.com/cleardusk/3DDFA 3DDFA && mkdir -p DIR && "
         f"git -C 3DDFA show '{FOOTAGE_COMMIT}:demo@obama/{FOOTAGE_FILE}' > DIR/{FOOTAGE_FILE}")
SECONDS = 20.0  # the issue's own measurement sampled 15-20 s of the looped clip
QUICK_SECONDS = 10.0


def footage_file(folder: Path | None) -> Path | None:
    """The real clip in `folder`, or None when it is not there (the row is then "not run")."""
    if folder is None:
        return None
    path = folder / FOOTAGE_FILE
    return path if path.is_file() else None


def not_run_note(folder: Path | None) -> str:
    where = f"{folder}/{FOOTAGE_FILE} not found" if folder is not None else "no --footage DIR given"
    return (f"real footage (known person turning his head): not run ({where}); get it with `{FETCH}` "
            "and run `facedaemon bench --labels --footage DIR`")


def prepare(source: Path, out: Path) -> tuple[int, int]:
    """`source` scaled (aspect kept) and padded to 1280x720, without sound; (fps, frames) of the result."""
    import cv2

    from facedaemon.children.ffmpeg import find_ffmpeg

    fit = (f"scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease,"
           f"pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2,format=yuv420p")
    cmd = [find_ffmpeg(None), "-y", "-loglevel", "error", "-i", str(source), "-an", "-vf", fit,
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg could not prepare {source} (exit {done.returncode}): {done.stderr[-300:]}")
    capture = cv2.VideoCapture(str(out))
    try:
        fps = round(capture.get(cv2.CAP_PROP_FPS))
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    if fps <= 0 or frames <= 0:
        raise RuntimeError(f"{out} (from {source}) has no frames")
    return fps, frames


def footage_clip(path: Path, fps: int, file_frames: int, seconds: float) -> LabelsClip:
    """The prepared clip, looped by the source for `seconds`: the run counts that many seconds of frames."""
    return LabelsClip(str(path), FOOTAGE, max(1, round(seconds * fps)), Durations(), fps=fps,
                      file_frames=file_frames)
