"""Distance of a face to the gallery by head pose, sharpness and height, on real footage of people turning their
heads: where "can this face be judged?" should draw its lines (faces/pose.py RECOMMENDED_*).

The footage is not part of this repository; fetch it once into a folder (MEDIA_DIR) and pass that folder:

    git clone https://github.com/cleardusk/3DDFA && git -C 3DDFA checkout 3545f355bfc71e5748fa915b13932958363135d7
    git clone https://github.com/ageitgey/face_recognition fr \\
        && git -C fr checkout 2e2dccea9dd0ce730c8d464d0f67c6eebb40c9d1
    mkdir media && cp "3DDFA/demo@obama/obama.mp4" fr/examples/short_hamilton_clip.mp4 \\
        fr/examples/lin-manuel-miranda.png media/

- obama.mp4 (1280x720, 55 frames): Barack Obama speaking, turning left and right. Gallery: the shared obama2.jpg
  and obama3.jpg.
- short_hamilton_clip.mp4 (640x360, 275 frames): Lin-Manuel Miranda performing (frames 0-19 far, 82-210 near,
  turning as he talks; gallery: lin-manuel-miranda.png), a profile close-up (20-81, not found by any detector;
  the faces found then are the blurred audience behind, unidentified), then the audience (211-274): Obama in
  near-profile at the top middle, the rest strangers. Labels were set by looking at the frames (see `label`).

Every face BlazeFace finds (through facedaemon.faces.engine, as the worker does) is encoded at full resolution and
measured: yaw and pitch from its key points (faces/pose.py), sharpness (faces/quality.py face_sharpness at
LIVE_SHARPNESS_SIDE, what the worker measures), height, and its distance to every gallery: the shared photos'
people (biden, known_faces/*) are there as further strangers' galleries, so each known face also has a runner-up.
The frames are measured as filmed, Gaussian-blurred (sigma 1, 2, 4 px per 360 lines) and shrunk (1/2, 1/4).
A perspective warp of the shared obama.jpg is a synthetic stand-in for yaw, reported in its own table only.

--bands LFW_DIR: may a face turned past the judging limit (30 to 40 degrees) name a person under a stricter rule
(faces/quality.py TURNED_*)? The right person's and the nearest stranger's distance by |yaw| band, over LFW photos
(a folder per person: /work/cache/groups-lfw holds 25 people's from umass-vis-lfw/umass-vis-lfw.github.io at
2a620cd8, 8 each), the shared photos (every photo a gallery entry too, never compared with itself; obama.jpg a
probe only) and both clips' frames (probes against all of them), and what stricter rules would have named.

--calibrate 3DDFA_CHECKOUT: the pose estimators' error against AFLW2000-3D's head angles (test.configs/ and
c++/weights/u_base.txt of the 3DDFA checkout above), and the value a fit would give each faces/pose.py constant.

Usage: .venv/bin/python scripts/benchmarks/face_pose_distance.py [--dump FACES.jsonl] MEDIA_DIR [PHOTOS_DIR]
       .venv/bin/python scripts/benchmarks/face_pose_distance.py --bands LFW_DIR MEDIA_DIR [PHOTOS_DIR] [--dump LOOKS]
       .venv/bin/python scripts/benchmarks/face_pose_distance.py --bands-again LOOKS
       .venv/bin/python scripts/benchmarks/face_pose_distance.py --limits FACES.jsonl
       .venv/bin/python scripts/benchmarks/face_pose_distance.py --calibrate 3DDFA_CHECKOUT
(PHOTOS_DIR: default devtools.shared_data())
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # devtools: importable from the checkout, not installed

from devtools import shared_data  # noqa: E402
from facedaemon.faces import engine  # noqa: E402
from facedaemon.faces.blazeface import overlap  # noqa: E402
from facedaemon.faces.pose import yaw_pitch_from_blazeface, yaw_pitch_from_landmarks5  # noqa: E402
from facedaemon.faces.quality import LIVE_SHARPNESS_SIDE, face_sharpness  # noqa: E402

OBAMA, LIN = "Obama", "Lin-Manuel Miranda"
STRANGER = "stranger"  # someone in no gallery
TOLERANCE = 0.6  # the config's default match tolerance
BLUR_SIGMAS = (1.0, 2.0, 4.0)  # px per 360 lines of the frame
SHRINKS = (0.5, 0.25)
LEVEL_YAW = 25.0  # the blur and height tables keep faces turned less than this, so pose does not mix in


@dataclass
class Face:
    person: str | None  # OBAMA, LIN, STRANGER, or None: not identified
    variant: str  # "as filmed", "blur 2", "shrink 0.5"
    height: int
    sharpness: float
    yaw: float
    pitch: float
    yaw5: float  # from dlib's 5-point landmarks, for comparison
    distances: dict[str, float] = field(default_factory=dict)  # gallery person -> nearest photo's distance

    @property
    def own(self) -> float:
        return self.distances[self.person]  # type: ignore[index]

    @property
    def runner_up(self) -> float:
        return min(d for name, d in self.distances.items() if name != self.person)


def label_obama(_frame: int, _box: tuple) -> str | None:
    return OBAMA  # he is the only person in the clip


def label_hamilton(frame: int, box: tuple) -> str | None:
    """Who a face found in short_hamilton_clip.mp4 is (frame index from 0, box in the original frame's pixels)."""
    top, right, _, left = box
    if frame < 20 or 82 <= frame <= 210:
        return LIN
    if frame >= 211:
        return OBAMA if 310 <= (left + right) / 2 <= 370 and top < 80 else STRANGER  # Michelle: lower, right
    return None


CLIPS: tuple[tuple[str, Callable[[int, tuple], str | None]], ...] = (
    ("obama.mp4", label_obama), ("short_hamilton_clip.mp4", label_hamilton))


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--calibrate"] and len(args) == 2:
        calibrate(Path(args[1]))
        return
    if args[:1] == ["--bands-again"] and len(args) == 2:  # the tables again, from a --bands --dump
        band_report([Look(**json.loads(line)) for line in Path(args[1]).read_text().splitlines()])
        return
    if args[:1] == ["--bands"]:
        dump = None
        if "--dump" in args[:-1]:
            at = args.index("--dump")
            dump, args = Path(args[at + 1]), args[:at] + args[at + 2:]
        if len(args) in (3, 4):
            bands(Path(args[1]), Path(args[2]), Path(args[3]) if len(args) > 3 else shared_data(), dump)
            return
    if args[:1] == ["--limits"] and len(args) == 2:  # the summary again, from a --dump of an earlier run
        limits([Face(**json.loads(line)) for line in Path(args[1]).read_text().splitlines()])
        return
    dump = None
    if args[:1] == ["--dump"] and len(args) >= 2:
        dump, args = Path(args[1]), args[2:]
    if not 1 <= len(args) <= 2 or args[0].startswith("-"):
        sys.exit(__doc__.split("Usage: ")[1])
    media = Path(args[0])
    shared = Path(args[1]) if len(args) > 1 else shared_data()
    missing = [name for name in ("obama.mp4", "short_hamilton_clip.mp4", "lin-manuel-miranda.png")
               if not (media / name).is_file()]
    if missing:
        sys.exit(f"{media}: missing {', '.join(missing)} (see the top of this script for where they come from)")
    galleries = load_galleries(media, shared)
    faces, found = [], []
    for name, labeler in CLIPS:
        clip_faces, counts = measure_clip(media / name, labeler, galleries)
        faces += clip_faces
        found.append((name, counts))
    if dump:
        dump.write_text("".join(json.dumps(asdict(face)) + "\n" for face in faces))
    report(faces, found, galleries, shared)


def load_galleries(media: Path, shared: Path) -> dict[str, np.ndarray]:
    fr = engine.face_recognition_module()

    def encodings(*paths: Path) -> np.ndarray:
        return np.array([fr.face_encodings(fr.load_image_file(str(p)))[0] for p in paths])

    galleries = {OBAMA: encodings(shared / "images" / "obama2.jpg", shared / "images" / "obama3.jpg"),
                 LIN: encodings(media / "lin-manuel-miranda.png"),
                 "biden": encodings(shared / "images" / "biden.jpg")}
    for photo in sorted((shared / "known_faces").glob("*.jpg")):
        galleries[photo.stem] = encodings(photo)
    return galleries


def frames(path: Path) -> Iterator[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            yield bgr
    finally:
        capture.release()


def variants(bgr: np.ndarray, index: int) -> Iterator[tuple[str, np.ndarray, float]]:
    """(name, frame, scale back to the original) for the frame as filmed, and on every other frame blurred and
    shrunk copies."""
    import cv2

    yield "as filmed", bgr, 1.0
    if index % 2:
        return
    for sigma in BLUR_SIGMAS:
        yield f"blur {sigma:g}", cv2.GaussianBlur(bgr, (0, 0), sigma * bgr.shape[0] / 360), 1.0
    for shrink in SHRINKS:
        small = cv2.resize(bgr, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        yield f"shrink {shrink:g}", small, 1 / shrink


def measure_clip(path: Path, labeler: Callable[[int, tuple], str | None],
                 galleries: dict[str, np.ndarray]) -> tuple[list[Face], dict[str, int]]:
    """Every face found in every variant of every frame; and, as filmed, how many frames had a face found by
    BlazeFace and by HOG, by who was found."""
    counts: dict[str, int] = {"frames": 0, "BlazeFace": 0, "HOG": 0}
    faces = []
    for index, bgr in enumerate(frames(path)):
        counts["frames"] += 1
        hog = engine.detect_full(engine.to_rgb(bgr), min(1.0, 640 / bgr.shape[1]), "hog", 1)
        counts["HOG"] += bool(hog)
        for variant, image, back in variants(bgr, index):
            found = measure_frame(image, galleries, variant, lambda box, b=back, i=index: labeler(
                i, tuple(int(v * b) for v in box)))
            faces += found
            if variant == "as filmed":
                counts["BlazeFace"] += bool(found)
                for face in found:
                    key = f"{face.person or 'unidentified'}{' turned' if abs(face.yaw) >= LEVEL_YAW else ''}"
                    counts[key] = counts.get(key, 0) + 1
    return faces, counts


def measure_frame(bgr: np.ndarray, galleries: dict[str, np.ndarray], variant: str,
                  who: Callable[[tuple], str | None]) -> list[Face]:
    from facedaemon.faces.detect import detector

    boxes = engine.blazeface_boxes(bgr, None, bgr=True)
    if not boxes:
        return []
    detections = detector().scan(bgr, None, bgr=True)  # the same faces, with their key points
    rgb = engine.to_rgb(bgr)
    fr = engine.face_recognition_module()
    faces = []
    for box, encoding in zip(boxes, engine.encode(rgb, boxes), strict=True):
        detection = max(detections, key=lambda d, b=box: overlap(d.box, b))
        yaw, pitch = yaw_pitch_from_blazeface(detection.keypoints)
        yaw5, _ = yaw_pitch_from_landmarks5(fr.face_landmarks(rgb, [box], model="small")[0])
        distances = {name: float(np.min(np.linalg.norm(known - encoding, axis=1)))
                     for name, known in galleries.items()}
        faces.append(Face(who(box), variant, box[2] - box[0], face_sharpness(rgb, box, LIVE_SHARPNESS_SIDE),
                          yaw, pitch, yaw5, distances))
    return faces


def report(faces: list[Face], found: list[tuple[str, dict[str, int]]], galleries: dict[str, np.ndarray],
           shared: Path) -> None:
    print("### Faces found (as filmed)\n")
    print("| clip | frames | BlazeFace: frames with a face | HOG: frames with a face | BlazeFace faces by person "
          f"(turned: yaw {LEVEL_YAW:g} or more either way) |")
    print("|---|---|---|---|---|")
    for name, counts in found:
        people = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k not in ("frames", "BlazeFace", "HOG"))
        print(f"| {name} | {counts['frames']} | {counts['BlazeFace']} | {counts['HOG']} | {people} |")
    filmed = [f for f in faces if f.variant == "as filmed"]
    yaw_bins = (0, 15, 25, 35, 45, 90)
    table("By BlazeFace yaw (as filmed), |yaw| degrees", filmed, lambda f: abs(f.yaw), yaw_bins)
    for person, gallery in ((OBAMA, "two photos"), (LIN, "one photo")):
        table(f"{person} only (gallery: {gallery}), by |yaw| (as filmed and blurred), sharpness >= 200",
              [f for f in faces if f.person == person and f.sharpness >= 200 and not f.variant.startswith("shrink")],
              lambda f: abs(f.yaw), yaw_bins)
    table("By BlazeFace pitch (as filmed), degrees", filmed, lambda f: f.pitch, (-90, -25, -15, -5, 5, 90))
    level = [f for f in faces if abs(f.yaw) < LEVEL_YAW and not f.variant.startswith("shrink")]
    table(f"By sharpness (as filmed and blurred, |yaw| < {LEVEL_YAW:g}), variance of the Laplacian at "
          f"{LIVE_SHARPNESS_SIDE} px", level, lambda f: f.sharpness, (0, 25, 50, 100, 200, 400, math.inf))
    shrunk = [f for f in faces if abs(f.yaw) < LEVEL_YAW and not f.variant.startswith("blur")]
    table(f"By face height (as filmed and shrunk, |yaw| < {LEVEL_YAW:g}), px", shrunk, lambda f: f.height,
          (0, 24, 32, 48, 64, 100, math.inf))
    agreement(filmed)
    limits(faces)
    warp_table(galleries, shared)
    lookalike(shared)


def table(title: str, faces: list[Face], key: Callable[[Face], float], edges: tuple[float, ...]) -> None:
    """One row per bin of `key`: the right person's distance to their gallery, their margin over the nearest other
    gallery, and the strangers' distance to the nearest gallery."""
    print(f"\n### {title}\n")
    print("| bin | known faces | own distance: median / p90 / max | >= 0.6 | runner-up margin: min / p10 / median "
          "| nearest is another, < 0.6 | strangers | nearest gallery: min / p10 / median | < 0.6 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for low, high in pairwise(edges):
        inside = [f for f in faces if low <= key(f) < high]
        known = [f for f in inside if f.person in (OBAMA, LIN)]
        strangers = [f for f in inside if f.person == STRANGER]
        if not known and not strangers:
            continue
        own = np.array([f.own for f in known])
        margin = np.array([f.runner_up - f.own for f in known])
        nearest = np.array([min(f.distances.values()) for f in strangers])
        wrong = sum(f.runner_up < min(f.own, TOLERANCE) for f in known)
        span = f"{low:g} to {high:g}" if high < 1e6 else f"{low:g} or more"
        print(f"| {span} | {len(known)} | {stats(own, 50, 90, 100)} | "
              f"{np.mean(own >= TOLERANCE) * 100 if len(own) else 0:.0f} % | {stats(margin, 0, 10, 50)} | {wrong} | "
              f"{len(strangers)} | {stats(nearest, 0, 10, 50)} | {np.sum(nearest < TOLERANCE)} |")


def stats(values: np.ndarray, *percentiles: float) -> str:
    return " / ".join(f"{np.percentile(values, p):.2f}" for p in percentiles) if len(values) else "-"


def agreement(faces: list[Face]) -> None:
    """How far dlib's 5-point yaw (the hog/cnn detectors' pose) is from BlazeFace's on the same faces."""
    known = [f for f in faces if f.person in (OBAMA, LIN)]
    gap = np.array([abs(f.yaw - f.yaw5) for f in known])
    print(f"\n5-point (dlib) yaw against BlazeFace yaw on the {len(known)} known faces as filmed: |difference| "
          f"median {np.median(gap):.1f}, p90 {np.percentile(gap, 90):.1f} degrees")


def limits(faces: list[Face]) -> None:
    """The known faces within all of faces/pose.py's recommended pose, sharpness and height limits."""
    from facedaemon.faces import pose

    judged = [f for f in faces if f.person in (OBAMA, LIN) and abs(f.yaw) < pose.RECOMMENDED_MAX_YAW_DEG
              and abs(f.pitch) < pose.RECOMMENDED_MAX_PITCH_DEG and f.sharpness >= pose.RECOMMENDED_MIN_SHARPNESS
              and f.height >= pose.RECOMMENDED_MIN_HEIGHT_PX]
    if not judged:
        print("\nNo known face within the recommended limits")
        return
    own = np.array([f.own for f in judged])
    margin = np.array([f.runner_up - f.own for f in judged])
    wrong = sum(f.runner_up < min(f.own, TOLERANCE) for f in judged)
    print(f"\nWithin the recommended limits: {len(judged)} known looks; own distance max {own.max():.2f}, "
          f"{np.mean(own >= TOLERANCE) * 100:.1f} % at {TOLERANCE} or more; nearest is another < {TOLERANCE}: {wrong}; "
          f"runner-up margin min {margin.min():.2f}, under 0.05: {np.mean(margin < 0.05) * 100:.1f} %, "
          f"under 0.08: {np.mean(margin < 0.08) * 100:.1f} %")


def warp_table(galleries: dict[str, np.ndarray], shared: Path) -> None:
    """Synthetic stand-in for yaw: the shared (near-frontal) obama.jpg and biden.jpg, their plane turned about the
    vertical axis by a perspective warp. Not a head turning: the nose does not move against the cheeks."""
    import cv2

    fr = engine.face_recognition_module()
    print("\n### Synthetic proxy: perspective warp of a frontal photo (not the target figure)\n")
    print("| photo | warp degrees | BlazeFace yaw | distance to Obama's gallery |")
    print("|---|---|---|---|")
    for photo, person in (("obama.jpg", OBAMA), ("biden.jpg", "biden")):
        bgr = cv2.cvtColor(fr.load_image_file(str(shared / "images" / photo)), cv2.COLOR_RGB2BGR)
        for degrees in (0, 20, 40, 60):
            found = measure_frame(turn_plane(bgr, degrees), galleries, "warp", lambda _box, p=person: p)
            cells = (f"{found[0].yaw:+.0f} | {found[0].distances[OBAMA]:.2f}" if found else "not found | -")
            print(f"| {photo} | {degrees} | {cells} |")


def turn_plane(bgr: np.ndarray, degrees: float) -> np.ndarray:
    """The image as a flat card turned by `degrees` about its vertical centre line, seen from a camera whose focal
    length is the image width."""
    import cv2

    h, w = bgr.shape[:2]
    f, t = float(w), math.radians(degrees)
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    moved = []
    for x, y in corners - [w / 2, h / 2]:
        xr, zr = x * math.cos(t), x * math.sin(t)
        moved.append([w / 2 + f * xr / (f + zr), h / 2 + f * y / (f + zr)])
    matrix = cv2.getPerspectiveTransform(corners, np.float32(moved))
    return cv2.warpPerspective(bgr, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


def lookalike(shared: Path) -> None:
    fr = engine.face_recognition_module()
    a, b = (fr.face_encodings(fr.load_image_file(str(shared / "known_faces" / f"{n}.jpg")))[0]
            for n in ("ChengHaoXie", "KaiYuChen"))
    print(f"\nLook-alike pair in the shared photos: ChengHaoXie to KaiYuChen {np.linalg.norm(a - b):.2f}")


def calibrate(checkout: Path) -> None:
    """The estimators on AFLW2000-3D's hand-placed landmarks against the head angles of its fitted 3D faces."""
    from facedaemon.faces import pose

    configs = checkout / "test.configs"
    try:
        points3d = np.load(configs / "AFLW2000-3D.pts68.npy")  # (2000, 3, 68): the fitted face's landmarks
        marked = np.load(configs / "AFLW2000-3D-Reannotated.pts68.npy")  # (2000, 2, 68): placed by hand
        mean_face = np.loadtxt(checkout / "c++" / "weights" / "u_base.txt").reshape(-1, 3)  # the model's frontal
    except OSError as exc:
        sys.exit(f"{checkout}: {exc} (a checkout of cleardusk/3DDFA, see the top of this script)")
    yaw, pitch = np.array([head_angles(mean_face, p.T) for p in points3d]).T
    readings = {
        "BlazeFace": [pose.yaw_pitch_from_blazeface(blazeface_stand_in(p.T)) for p in marked],
        "dlib 5-point": [pose.yaw_pitch_from_landmarks5(landmarks5_stand_in(p.T)) for p in marked],
    }
    print("### Pose estimators against AFLW2000-3D (mean error, degrees; faces with yaw and pitch within 60 and 40)\n")
    print("| estimator | angle | 0-15 | 15-30 | 30-45 | 45-60 | all |")
    print("|---|---|---|---|---|---|---|")
    usable = (np.abs(yaw) <= 60) & (np.abs(pitch) <= 40)
    for name, values in readings.items():
        read = np.array(values)
        for column, truth in ((0, yaw), (1, pitch)):
            error = np.abs(read[:, column] - truth)
            cells = [f"{np.mean(error[usable & (np.abs(truth) >= lo) & (np.abs(truth) < hi)]):.1f}"
                     if np.any(usable & (np.abs(truth) >= lo) & (np.abs(truth) < hi)) else "-"
                     for lo, hi in ((0, 15), (15, 30), (30, 45), (45, 60))]
            print(f"| {name} | {'yaw' if column == 0 else 'pitch'} | {' | '.join(cells)} | "
                  f"{np.mean(error[usable]):.1f} |")
    print(f"\n{usable.sum()} of {len(yaw)} faces; median pitch {np.median(pitch):.1f} (the photos' faces lean "
          "this far down on average)")
    print("\n| constant | in faces/pose.py | best fit (mean error, capped at 20, same faces) |\n|---|---|---|")
    stand_ins = {"BLAZEFACE": (pose.yaw_pitch_from_blazeface, [blazeface_stand_in(p.T) for p in marked]),
                 "LANDMARKS5": (pose.yaw_pitch_from_landmarks5, [landmarks5_stand_in(p.T) for p in marked])}
    fits = (("YAW_SCALE", 0, yaw), ("PITCH_ZERO", 1, pitch), ("PITCH_SCALE", 1, pitch))
    shipped = {f"{prefix}_{suffix}": getattr(pose, f"{prefix}_{suffix}") for prefix in stand_ins for suffix, *_ in fits}
    for last in (False, True):  # the pitch constants depend on each other (and dlib's pitch on its yaw): two rounds
        for prefix, (estimate, inputs) in stand_ins.items():
            for suffix, column, truth in fits:
                name = f"{prefix}_{suffix}"
                best = min(np.linspace(shipped[name] * 0.5, shipped[name] * 1.5, 101), key=lambda v, n=name:
                           fitted_error(pose, n, v, estimate, inputs, column, truth, usable))
                setattr(pose, name, float(best))
                if last:
                    print(f"| {name} | {shipped[name]:g} | {best:.3f} |")


def fitted_error(pose: object, name: str, value: float, estimate: Callable, inputs: list, column: int,
                 truth: np.ndarray, usable: np.ndarray) -> float:
    setattr(pose, name, float(value))
    read = np.array([estimate(i)[column] for i, ok in zip(inputs, usable, strict=True) if ok])
    return float(np.mean(np.minimum(np.abs(read - truth[usable]), 20.0)))


def head_angles(mean_face: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) of the rotation taking the model's frontal face onto the fitted one (68 x 3, image y down)."""
    target = landmarks * [1, -1, 1]  # the model's y points up
    a, b = mean_face - mean_face.mean(0), target - target.mean(0)
    u, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rotation = vt.T @ np.diag([1, 1, d]) @ u.T
    forward = rotation @ [0.0, 0.0, 1.0]  # where the face points; + x is the image's right, + y up
    return (math.degrees(math.atan2(forward[0], forward[2])),
            math.degrees(math.atan2(forward[1], math.hypot(forward[0], forward[2]))))


def blazeface_stand_in(p: np.ndarray) -> list[tuple[float, float]]:
    """BlazeFace's points from 68 landmarks: eye centres, nose tip, mouth centre. The 68 have no ear: both ears
    are given as one point, which spans no frame, so this reads the eye-based yaw alone."""
    nose = tuple(p[30])
    return [tuple(p[36:42].mean(0)), tuple(p[42:48].mean(0)), nose, tuple(p[60:68].mean(0)), nose, nose]


def landmarks5_stand_in(p: np.ndarray) -> dict[str, list[tuple[float, float]]]:
    """dlib's 5 points from 68 landmarks: the eyes' corners and the bottom of the nose, named as face_recognition
    names them (its "left_eye" is on the image's left)."""
    return {"left_eye": [tuple(p[36]), tuple(p[39])], "right_eye": [tuple(p[42]), tuple(p[45])],
            "nose_tip": [tuple(p[33])]}


# ---------------------------------------------------------------------------------------------------------------
# --bands: may a face turned past the judging limit (quality.MAX_YAW_DEG) name a person under a stricter rule?
# Every look is measured as the worker measures it (engine.blazeface_found, quality.live_quality); a look counts when
# it passes every other part of the rule (height, sharpness, pitch, score), so yaw is the one thing that varies.
BAND_EDGES = (0.0, 20.0, 25.0, 30.0, 35.0, 40.0, 90.0)
TURNED = (30.0, 40.0)  # the band a stricter rule might let name
TURNED_RULES = tuple((t, m) for t in (0.35, 0.40, 0.42, 0.45, 0.50) for m in (0.05, 0.10, 0.15))
LOOKALIKES = ("ChengHaoXie", "KaiYuChen")


@dataclass
class Look:
    source: str  # "LFW", "shared", "obama.mp4", "short_hamilton_clip.mp4"
    person: str  # STRANGER: someone in no gallery
    name: str  # file name or frame number
    yaw: float
    pitch: float
    height: int
    sharpness: float
    score: float
    encoding: list[float]
    in_gallery: bool = False  # a photo that is also a gallery entry (never compared with itself)


def bands(lfw: Path, media: Path, shared: Path, dump: Path | None) -> None:
    looks = photo_looks(lfw, media, shared) + clip_looks(media)
    if dump:
        dump.write_text("".join(json.dumps(asdict(look)) + "\n" for look in looks))
    band_report(looks)


def measured_looks(bgr: np.ndarray, source: str, name: str) -> list[tuple[Look, tuple]]:
    """Each face BlazeFace finds, measured as the worker measures it, with its box (person left blank)."""
    from facedaemon.faces.quality import live_quality, pose_from_keypoints

    found = [f for f in engine.blazeface_found(bgr, None, bgr=True) if f.keypoints]
    if not found:
        return []
    rgb = engine.to_rgb(bgr)
    looks = []
    for f, encoding in zip(found, engine.encode(rgb, [f.box for f in found]), strict=True):
        q = live_quality(rgb, f.box, pose_from_keypoints(f.keypoints), f.score)
        looks.append((Look(source, "", name, float(q.yaw), float(q.pitch), q.height, q.sharpness, float(q.score),
                           [float(v) for v in encoding]), f.box))
    return looks


def photo_looks(lfw: Path, media: Path, shared: Path) -> list[Look]:
    """LFW (the face nearest the middle: LFW centres its person) and the shared photos, each also a gallery entry.
    The shared obama.jpg is a probe only: the labels bench's gallery for Obama is obama2/3.jpg."""
    import cv2

    photos = [(p, "LFW", p.parent.name) for p in sorted(lfw.glob("*/*.jpg"))]
    photos += [(shared / "images" / f"{n}.jpg", "shared", OBAMA) for n in ("obama", "obama2", "obama3")]
    photos.append((shared / "images" / "biden.jpg", "shared", "biden"))
    photos += [(p, "shared", p.stem) for p in sorted((shared / "known_faces").glob("*.jpg"))]
    photos.append((media / "lin-manuel-miranda.png", "media", LIN))
    looks = []
    for path, source, person in photos:
        bgr = cv2.imread(str(path))
        found = measured_looks(bgr, source, path.name)
        if not found:
            print(f"{path}: no face found", file=sys.stderr)
            continue
        middle = (bgr.shape[0] / 2, bgr.shape[1] / 2)
        look, _ = min(found, key=lambda lb: math.dist(middle, ((lb[1][0] + lb[1][2]) / 2, (lb[1][1] + lb[1][3]) / 2)))
        look.person = person
        look.in_gallery = path.name != "obama.jpg"
        looks.append(look)
    return looks


def clip_looks(media: Path) -> list[Look]:
    """Every face BlazeFace finds in both clips as filmed, labelled as above; faces not identified are left out."""
    looks = []
    for clip, labeler in CLIPS:
        for index, bgr in enumerate(frames(media / clip)):
            for look, box in measured_looks(bgr, clip, str(index)):
                who = labeler(index, box)
                if who is not None:
                    look.person = who
                    looks.append(look)
    return looks


@dataclass
class Judged:
    look: Look
    own: float | None  # distance to the person's own gallery (None: a stranger, or no other photo of them)
    first: float  # nearest person other than the look's own: the nearest stranger
    first_name: str
    second: float  # the next person after `first` (other than the look's own)
    strangers: int  # gallery people other than the look's own it was compared with


def judge_looks(looks: list[Look]) -> list[Judged]:
    """Each look's distance to every gallery person but itself: its own person, and the two nearest others."""
    gallery = [look for look in looks if look.in_gallery]
    rows = np.array([look.encoding for look in gallery])
    names = [look.person for look in gallery]
    judged = []
    for look in looks:
        distances = np.linalg.norm(rows - np.array(look.encoding), axis=1)
        best: dict[str, float] = {}
        for entry, name, d in zip(gallery, names, distances.tolist(), strict=True):
            if entry is not look:
                best[name] = min(d, best.get(name, math.inf))
        own = best.pop(look.person, None)
        others = sorted(best.items(), key=lambda item: item[1])
        judged.append(Judged(look, own, others[0][1], others[0][0], others[1][1], len(others)))
    return judged


def otherwise_judgeable(look: Look) -> bool:
    """Passes every part of "can this face be judged?" but yaw (quality.judgeable for a match)."""
    from facedaemon.faces.quality import LiveQuality, judgeable

    return judgeable(LiveQuality(look.height, look.sharpness, 0.0, look.pitch, look.score), match=True)


def names_wrongly(j: Judged, threshold: float, margin: float) -> bool:
    """Would the rule "nearest person within `threshold`, the next `margin` farther" name someone else? With the
    right person in the gallery (own), the next is the nearer of own and the second stranger."""
    nxt = j.second if j.own is None else min(j.second, j.own)
    return j.first <= threshold and nxt - j.first >= margin


def names_rightly(j: Judged, threshold: float, margin: float) -> bool:
    return j.own is not None and j.own <= threshold and j.first - j.own >= margin


def names_wrongly_as_stranger(j: Judged, threshold: float, margin: float) -> bool:
    """The same look with its own person out of the gallery (a stranger to the household)."""
    return j.first <= threshold and j.second - j.first >= margin


def band_report(looks: list[Look]) -> None:
    judged = [j for j in judge_looks(looks) if otherwise_judgeable(j.look)]
    sources = sorted({j.look.source for j in judged})
    print(f"### Right person and nearest stranger by |yaw| ({len(judged)} looks within every other limit)\n")
    print("| |yaw| | looks (" + ", ".join(sources) + ") | with a gallery of their own | own distance: median / "
          "p90 / max | nearest stranger: min / p1 / p10 / median | stranger < 0.5 / < 0.45 / < 0.4 | "
          "nearest stranger − own: min / p10 |")
    print("|---|---|---|---|---|---|---|")
    for low, high in pairwise(BAND_EDGES):
        inside = [j for j in judged if low <= abs(j.look.yaw) < high]
        if not inside:
            continue
        counts = " / ".join(str(sum(j.look.source == s for j in inside)) for s in sources)
        known = [j for j in inside if j.own is not None]
        own = np.array([j.own for j in known])
        first = np.array([j.first for j in inside])
        gap = np.array([j.first - j.own for j in known])
        near = " / ".join(str(int(np.sum(first < t))) for t in (0.5, 0.45, 0.4))
        print(f"| {low:g}–{high:g} | {len(inside)} ({counts}) | {len(known)} | {stats(own, 50, 90, 100)} | "
              f"{stats(first, 0, 1, 10, 50)} | {near} | {stats(gap, 0, 10)} |")
    turned_rules(judged)
    nearest_turned(judged)
    lookalike_pair(judged)


def turned_rules(judged: list[Judged]) -> None:
    low, high = TURNED
    turned = [j for j in judged if low < abs(j.look.yaw) <= high]
    known = [j for j in turned if j.own is not None]
    clip = [j for j in known if j.look.source == "obama.mp4"]
    people = len({j.look.person for j in turned if j.look.person != STRANGER})
    pairs = sum(j.strangers for j in turned)
    print(f"\n### Stricter rules for a name at {low:g}–{high:g}° ({len(turned)} looks of {people} known people and "
          f"{sum(j.look.person == STRANGER for j in turned)} strangers' faces; {pairs} look-to-stranger pairs; "
          f"{len(known)} with their own gallery, {len(clip)} of them obama.mp4)\n")
    print("| name if nearest ≤ | and next person farther by | right names (all / obama.mp4) | wrong names, own "
          "person in the gallery | wrong names, own person out (every look a stranger) | same at 20–30° "
          "(wrong, as strangers) |")
    print("|---|---|---|---|---|---|")
    level = [j for j in judged if 20 <= abs(j.look.yaw) <= 30]
    for threshold, margin in TURNED_RULES:
        right = sum(names_rightly(j, threshold, margin) for j in known)
        right_clip = sum(names_rightly(j, threshold, margin) for j in clip)
        wrong = sum(names_wrongly(j, threshold, margin) for j in turned)
        as_strangers = sum(names_wrongly_as_stranger(j, threshold, margin) for j in turned)
        level_wrong = sum(names_wrongly_as_stranger(j, threshold, margin) for j in level)
        print(f"| {threshold:.2f} | {margin:.2f} | {pct(right, known)} / {pct(right_clip, clip)} | {wrong} | "
              f"{as_strangers} of {len(turned)} | {level_wrong} of {len(level)} |")


def pct(count: int, of: list) -> str:
    return f"{count * 100 / len(of):.0f} %" if of else "-"


def nearest_turned(judged: list[Judged]) -> None:
    """The stranger pairs nearest each other among turned looks: how far the threshold is from a wrong name."""
    low, high = TURNED
    turned = sorted((j for j in judged if low < abs(j.look.yaw) <= high), key=lambda j: j.first)[:5]
    print(f"\nNearest strangers at {low:g}–{high:g}°: " + "; ".join(
        f"{j.look.source} {j.look.person} {j.look.name} (yaw {j.look.yaw:+.0f}) to {j.first_name} {j.first:.2f}, "
        f"next {j.second:.2f}" for j in turned))


def lookalike_pair(judged: list[Judged]) -> None:
    pair = {j.look.person: j for j in judged if j.look.person in LOOKALIKES}
    cells = [f"{name} (yaw {j.look.yaw:+.0f}): nearest other {j.first_name} {j.first:.2f}, next {j.second:.2f}"
             for name, j in sorted(pair.items())]
    print("\nLook-alike pair: " + "; ".join(cells))


if __name__ == "__main__":
    main()
