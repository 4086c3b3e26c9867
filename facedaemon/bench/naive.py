"""The seed's design, rebuilt faithfully as the baseline.

camera thread → queue.Queue(maxsize=5) (blocking put) → one consumer that, in this same process, runs
face_recognition on every other frame at 25 % scale (detection and encoding on the small frame, as the seed
did), draws the last result, and JPEG-encodes every frame like the seed's MJPEG stream.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from pathlib import Path

import numpy as np

from facedaemon import yuv
from facedaemon.annotate.draw import draw_faces
from facedaemon.bench.measure import Recorder
from facedaemon.bench.sources import CountingSource
from facedaemon.faces.confidence import distance_to_confidence
from facedaemon.faces.types import UNKNOWN, FaceResult
from facedaemon.gallery.layout import scan

SCALE = 0.25
TOLERANCE = 0.6


def load_known(faces_dir: Path) -> tuple[list[np.ndarray], list[str]]:
    """The seed's start-up: one face_recognition encoding per gallery photo (no cache)."""
    import face_recognition


    encodings, names = [], []
    for person, path in scan(faces_dir):
        found = face_recognition.face_encodings(face_recognition.load_image_file(str(path)))
        if found:
            encodings.append(found[0])
            names.append(person)
    return encodings, names


def seed_match(known: list[np.ndarray] | np.ndarray, names: list[str], encoding: np.ndarray) -> tuple[str, float]:
    """The seed's per-face matching: compare_faces, then face_distance again for the best one."""
    import face_recognition

    matches = face_recognition.compare_faces(known, encoding, tolerance=TOLERANCE)
    distances = face_recognition.face_distance(known, encoding)
    best = int(np.argmin(distances))
    if matches[best]:
        return names[best], distance_to_confidence(float(distances[best]), TOLERANCE)
    return UNKNOWN, 0.0


class NaiveCamera:
    def __init__(self, clip: Path, recorder: Recorder, known: list[np.ndarray], names: list[str]) -> None:
        self._source = CountingSource(clip, recorder)
        self._recorder = recorder
        self._known, self._names = known, names
        self._queue: queue.Queue = queue.Queue(maxsize=5)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._capture, daemon=True, name="naive-capture"),
                         threading.Thread(target=self._consume, daemon=True, name="naive-consume")]

    def start(self) -> None:
        self._source.open()
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5.0)
        self._source.close()

    def _capture(self) -> None:
        while not self._stop.is_set():
            frame = self._source.read()
            while not self._stop.is_set():
                with contextlib.suppress(queue.Full):
                    self._queue.put(frame, timeout=0.5)  # blocks the camera while the consumer is behind
                    break

    def _consume(self) -> None:
        import cv2
        import face_recognition


        process_this_frame = True
        faces: list[FaceResult] = []
        while not self._stop.is_set():
            try:
                frame = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            image = yuv.to_bgr(frame.image)  # the seed read BGR from OpenCV
            if process_this_frame:
                small = cv2.resize(image, (0, 0), fx=SCALE, fy=SCALE)
                rgb_small = np.ascontiguousarray(small[:, :, ::-1])
                locations = face_recognition.face_locations(rgb_small)
                encodings = face_recognition.face_encodings(rgb_small, locations)
                faces = []
                for (top, right, bottom, left), encoding in zip(locations, encodings, strict=True):
                    name, confidence = seed_match(self._known, self._names, encoding)
                    faces.append(FaceResult(name, confidence, None, (top * 4, right * 4, bottom * 4, left * 4), 0))
            process_this_frame = not process_this_frame
            draw_faces(image, faces)
            cv2.imencode(".jpg", image)
            self._recorder.on_output(frame.captured, time.time(), [face.name for face in faces], faces)
