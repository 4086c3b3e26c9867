"""Thin wrapper around face_recognition (dlib): detection, encoding and the box arithmetic between scales.

face_recognition and cv2 are imported inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from facedaemon.faces.blazeface import Detection, dlib_like, to_box
from facedaemon.faces.boxes import offset_boxes, scale_boxes
from facedaemon.faces.matcher import KnownFaces, match_many
from facedaemon.faces.negatives import Negatives, apply_negatives
from facedaemon.faces.types import Box, FaceResult

if TYPE_CHECKING:
    from facedaemon.config.models import RecognitionConfig
    from facedaemon.faces.detect import TileMemory
    from facedaemon.faces.negatives import Negatives


log = logging.getLogger(__name__)

BLAZEFACE = "blazeface"
FALLBACK_SCALE = 0.25  # HOG's scale when BlazeFace's weights are missing (the former default)
MIN_BOX_PX = 8  # smaller boxes are noise, and too small to encode anyway


@dataclass(frozen=True, slots=True)
class Found:
    """One detection in frame pixels: its box, and what the detector says besides (BlazeFace only: its score and
    six key points, right eye, left eye, nose tip, mouth, right ear, left ear, as (x, y))."""

    box: Box
    score: float | None = None
    keypoints: tuple[tuple[float, float], ...] | None = None


def face_recognition_module() -> ModuleType:
    from PIL import ImageFile

    # face_recognition's import flips Pillow's global to accept truncated files; we want those refused.
    truncated_ok = ImageFile.LOAD_TRUNCATED_IMAGES
    # face_recognition_models imports pkg_resources, which warns on every fresh interpreter.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources.*", category=UserWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import face_recognition
    ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok
    return face_recognition


def one_cv_thread() -> None:
    """OpenCV work in this process on one thread. A BlazeFace forward on two threads cost 13.4 ms of CPU against
    9.0 ms on one (6.8 vs 8.8 ms of wall time): the worker runs ~10 a second, and the cameras need the other core."""
    import cv2

    cv2.setNumThreads(1)


@functools.cache
def dlib_encoder() -> tuple[Any, Any]:
    """dlib's 5-point landmark model and face encoder: what face_recognition.face_encodings uses (its default
    "small" model), loaded alone. Importing face_recognition also loads the 68-point landmark model and the HOG and
    CNN detectors (~1.4 s of CPU, most of a fresh worker's start) and pkg_resources; BlazeFace needs none of them.
    The model files are found without importing face_recognition_models (its __init__ imports pkg_resources)."""
    import dlib

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("face_recognition_models is not installed")
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    return (dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat")),
            dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat")))


def load_models(model: str) -> None:
    """Load what recognition with `model` uses, so a worker reports ready only once it can answer at once."""
    dlib_encoder()
    if model != BLAZEFACE:
        face_recognition_module()


def warm_up(model: str = BLAZEFACE) -> None:
    """Run the detector (HOG and CNN: BlazeFace has no such cost) and the encoder once: dlib sizes its buffers on
    first use, which made the first face of a fresh worker (often the first face a camera shows) ~100 ms slower."""
    image = np.zeros((200, 200, 3), dtype=np.uint8)
    if model != BLAZEFACE:
        detect(image, "hog", 0)
    encode(image, [(25, 175, 175, 25)])


def shrink(image: np.ndarray, scale: float) -> np.ndarray:
    """Resize by `scale` with area averaging (the right filter for downscaling); scale 1 returns the input."""
    if scale == 1.0:
        return image
    import cv2

    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def prepare(frame_bgr: np.ndarray, scale: float) -> np.ndarray:
    """The camera frame scaled for detection, converted to the RGB order dlib expects."""
    import cv2

    return np.ascontiguousarray(cv2.cvtColor(shrink(frame_bgr, scale), cv2.COLOR_BGR2RGB))


def to_rgb(frame_bgr: np.ndarray) -> np.ndarray:
    import cv2

    return np.ascontiguousarray(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))


def detect(rgb_small: np.ndarray, model: str, upsample: int) -> list[Box]:
    face_recognition = face_recognition_module()
    boxes = face_recognition.face_locations(rgb_small, number_of_times_to_upsample=upsample, model=model)
    return [tuple(int(v) for v in box) for box in boxes]  # type: ignore[misc]


def encode(rgb: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
    """One 128-d encoding per box (boxes in `rgb`'s pixels); no detection is repeated."""
    if not boxes:
        return []
    import dlib

    predictor, encoder = dlib_encoder()
    # As face_recognition.face_encodings does: the box as a dlib rectangle, its 5 landmarks, one jitter.
    return [np.array(encoder.compute_face_descriptor(rgb, predictor(rgb, dlib.rectangle(left, top, right, bottom)), 1))
            for top, right, bottom, left in boxes]


def landmarks5(rgb: np.ndarray, boxes: list[Box]) -> list[list[tuple[float, float]]]:
    """dlib's five landmarks for each box (the ones encode places before encoding), as (x, y): the pose of a face
    found by hog or cnn, which give no key points. ~1 ms a face."""
    if not boxes:
        return []
    import dlib

    predictor, _ = dlib_encoder()
    shapes = [predictor(rgb, dlib.rectangle(left, top, right, bottom)) for top, right, bottom, left in boxes]
    return [[(float(p.x), float(p.y)) for p in shape.parts()] for shape in shapes]


def detect_regions(frame_bgr: np.ndarray, regions: list[Box], scale: float, model: str, upsample: int,
                   memory: TileMemory | None = None, tracked: list[Box] | None = None) -> list[Box]:
    """detect_faces' boxes only."""
    return [found.box for found in detect_faces(frame_bgr, regions, scale, model, upsample, memory, tracked)]


def detect_faces(frame_bgr: np.ndarray, regions: list[Box], scale: float, model: str, upsample: int,
                 memory: TileMemory | None = None, tracked: list[Box] | None = None) -> list[Found]:
    """Detect inside each (top, right, bottom, left) region of the BGR frame, each shrunk by `scale` like a full
    frame would be (HOG, CNN; BlazeFace sizes its own tiles from `tracked`, the faces the regions surround, and
    may reuse `memory`, the camera's previous tiles); detections come back in full-frame pixels."""
    if model == BLAZEFACE:
        whole = [(0, frame_bgr.shape[1], frame_bgr.shape[0], 0)]
        return blazeface_found(frame_bgr, None if regions == whole else regions, bgr=True, memory=memory,
                               tracked=tracked)
    found: list[Box] = []
    for top, right, bottom, left in regions:
        crop = frame_bgr[top:bottom, left:right]
        small = prepare(crop, scale)
        boxes = scale_boxes(detect(small, model, upsample), crop.shape[1] / small.shape[1], crop.shape)
        found.extend(offset_boxes([b for b in boxes if b[2] > b[0] and b[1] > b[3]], top, left))
    return [Found(box) for box in found]


def blazeface_boxes(image: np.ndarray, regions: list[Box] | None, *, bgr: bool,
                    memory: TileMemory | None = None, tracked: list[Box] | None = None) -> list[Box]:
    """BlazeFace's faces as the boxes dlib's HOG would draw (what the landmark model and encoder expect)."""
    return [found.box for found in blazeface_found(image, regions, bgr=bgr, memory=memory, tracked=tracked)]


def blazeface_found(image: np.ndarray, regions: list[Box] | None, *, bgr: bool,
                    memory: TileMemory | None = None, tracked: list[Box] | None = None) -> list[Found]:
    """BlazeFace's faces, each with its score and key points, boxed as dlib's HOG would (see blazeface_boxes)."""
    from facedaemon.faces.detect import DetectorUnavailable, detector

    try:
        found = detector().scan(image, regions, bgr=bgr, memory=memory, tracked=tracked)
    except DetectorUnavailable as exc:
        _say_unavailable(exc)
        rgb = image[:, :, ::-1] if bgr else image
        return [Found(box) for box in detect_full(np.ascontiguousarray(rgb), FALLBACK_SCALE, "hog", 1)]
    faces = [Found(to_box(Detection(dlib_like(det), det.score, det.keypoints), image.shape), det.score,
                   det.keypoints) for det in found]
    return [f for f in faces if f.box[2] - f.box[0] >= MIN_BOX_PX and f.box[1] - f.box[3] >= MIN_BOX_PX]


_unavailable_said = False


def _say_unavailable(exc: Exception) -> None:
    """Once per process: a missing wheel is a setup problem to fix, not a reason to stop naming faces."""
    global _unavailable_said
    if not _unavailable_said:
        log.error("recognition: %s; detecting with hog at scale %g until then", exc, FALLBACK_SCALE)
        _unavailable_said = True


def detect_full(rgb: np.ndarray, scale: float, model: str, upsample: int) -> list[Box]:
    """Detect on `rgb` shrunk by `scale` (BlazeFace: tiles of its own size); boxes come back in `rgb`'s pixels."""
    if model == BLAZEFACE:
        return blazeface_boxes(rgb, None, bgr=False)
    small = np.ascontiguousarray(shrink(rgb, scale))
    boxes = detect(small, model, upsample)
    factor = rgb.shape[1] / small.shape[1]
    return [box for box in scale_boxes(boxes, factor, rgb.shape) if box[2] > box[0] and box[1] > box[3]]


def identify_image(rgb: np.ndarray, known: KnownFaces, rec_config: RecognitionConfig,
                   negatives: Negatives | None = None) -> list[FaceResult]:
    """Every face in a still image, named against `known` and its negative examples, as the daemon does (no
    tracker: track is the face's index)."""

    boxes = detect_full(rgb, rec_config.scale, rec_config.model, rec_config.upsample)
    encodings = encode(rgb, boxes)
    matches = match_many(known, encodings, rec_config.tolerance)
    matches = apply_negatives(known, negatives or Negatives(), np.asarray(encodings), matches, rec_config.tolerance)
    return [
        FaceResult(m.name, m.confidence, m.distance, box, index)
        for index, (box, m) in enumerate(zip(boxes, matches, strict=True))
    ]
