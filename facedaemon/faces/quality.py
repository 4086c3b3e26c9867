"""Quality of a gallery photo: is the face big and sharp enough, and does it look like the person's other photos.

Pure numpy, except measure_face, which resizes the face crop with PIL (imported there) before measuring it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

MIN_FACE_PX = 80  # face box height in the (<= LOAD_MAX_SIDE) image; smaller faces encode unreliably
SHARPNESS_SIDE = 128  # the face crop is resized to this square before measuring, so sharpness is size-independent
# Variance of the Laplacian of the 128 px grey face crop. Calibrated with scripts/benchmarks/calibrate_blur.py on the
# ten shared photos: originals 140-417 (lowest: obama3.jpg, a soft photo that still matches well); Gaussian blur
# that is >= ~1.2 px once the face is scaled to 128 px (radius 2-3 on 180-260 px faces, 5 on 460-640 px faces)
# gives 5-40. 40 keeps every original with a 3.5x margin and refuses visibly blurred copies.
MIN_SHARPNESS = 40.0
# A face on a live frame is measured at 32 px (a 40 px face is shrunk, not blown up). Below MIN_LIVE_SHARPNESS the
# right person's distance drifts past the tolerance (Gaussian blur of the shared photos' faces at 40, 64 and 100 px:
# `scripts/benchmarks/face_size_distance.py --blur`), so a miss on such a face says nothing about a stranger.
LIVE_SHARPNESS_SIDE = 32
MIN_LIVE_SHARPNESS = 100.0
CONSISTENCY_SAMPLE = 500  # n² distances: a person with thousands of photos is judged on the first 500


@dataclass(frozen=True)
class FaceQuality:
    face_px: int  # face box height, pixels
    sharpness: float  # variance of the Laplacian of the normalised face crop

    def to_detail(self) -> str:
        return json.dumps({"face_px": self.face_px, "sharpness": round(self.sharpness, 1)})

    @classmethod
    def from_detail(cls, detail: str) -> FaceQuality | None:
        """Read back what to_detail wrote; None for entries made before quality was measured."""
        try:
            data = json.loads(detail)
            return cls(int(data["face_px"]), float(data["sharpness"]))
        except (ValueError, TypeError, KeyError):
            return None


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: low when edges are soft (blur, focus, motion)."""
    g = np.asarray(grey, dtype=np.float64)
    if g.ndim != 2 or min(g.shape) < 3:
        return 0.0
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def problems(quality: FaceQuality) -> list[str]:
    """Reasons a user can act on; empty when the photo is fine."""
    found = []
    if quality.face_px < MIN_FACE_PX:
        found.append(f"face too small ({quality.face_px} px tall, need {MIN_FACE_PX}): use a closer or larger photo")
    if quality.sharpness < MIN_SHARPNESS:
        found.append(f"face too blurred (sharpness {quality.sharpness:.0f}, need {MIN_SHARPNESS:.0f}): "
                     "use a sharper photo")
    return found


def distances_to_others(encodings: np.ndarray) -> np.ndarray:
    """For each row, its distance to the mean of the other rows (NaN when it is the only one)."""
    rows = np.asarray(encodings, dtype=np.float64).reshape(-1, 128)
    n = len(rows)
    if n < 2:
        return np.full(n, np.nan)
    others_mean = (rows.sum(axis=0)[None, :] - rows) / (n - 1)
    return np.linalg.norm(rows - others_mean, axis=1)


def outlier_note(distance: float, tolerance: float) -> str | None:
    if np.isnan(distance) or distance <= tolerance:
        return None
    return (f"likely a different person (distance {distance:.2f} to this person's other photos, tolerance "
            f"{tolerance:.2f}): check the photo belongs here")


def consistency(encodings: np.ndarray) -> float | None:
    """Mean pairwise distance between a person's photos (lower = more consistent); None below two photos."""
    rows = np.asarray(encodings, dtype=np.float64).reshape(-1, 128)[:CONSISTENCY_SAMPLE]
    n = len(rows)
    if n < 2:
        return None
    norms = np.einsum("ij,ij->i", rows, rows)
    squared = norms[:, None] + norms[None, :] - 2.0 * (rows @ rows.T)
    dist = np.sqrt(np.clip(squared, 0.0, None))
    return float(dist[np.triu_indices(n, 1)].mean())


def measure_face(rgb: np.ndarray, box: tuple[int, int, int, int]) -> FaceQuality:
    """Face height and the sharpness of the face crop, resized to a fixed size so big photos do not win."""
    return FaceQuality(int(box[2] - box[0]), face_sharpness(rgb, box, SHARPNESS_SIDE))


def face_sharpness(rgb: np.ndarray, box: tuple[int, int, int, int], side: int) -> float:
    """Variance of the Laplacian of the (top, right, bottom, left) face crop, grey, resized to side × side."""
    from PIL import Image  # deferred: the worker and the web load this module; only measuring needs PIL

    top, right, bottom, left = box
    crop = rgb[max(0, top):bottom, max(0, left):right]
    if crop.size == 0:
        return 0.0
    grey = Image.fromarray(np.ascontiguousarray(crop)).convert("L")
    grey = grey.resize((side, side), Image.Resampling.BILINEAR)
    return laplacian_variance(np.asarray(grey))
