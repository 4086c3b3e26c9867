"""What a recognition worker loads before it is ready. The chaos soak found a killed worker back only after 14-17 s
on a loaded 2-core machine: most of its start was face_recognition's import, which also loads dlib's 68-point
landmark model and its HOG and CNN detectors (~1.4 s of CPU) that a BlazeFace worker never uses. The encoder alone
must give face_recognition's encodings exactly."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facedaemon.faces import engine

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.needs_photos


def test_a_blazeface_worker_starts_without_face_recognitions_unused_models(shared_data, tmp_path):
    (tmp_path / "faces" / "Obama").mkdir(parents=True)
    shutil.copyfile(shared_data / "images" / "obama2.jpg", tmp_path / "faces" / "Obama" / "obama2.jpg")
    code = ("import sys\nfrom pathlib import Path\nfrom facedaemon.config.models import RecognitionConfig\n"
            "from facedaemon.worker.child import _load\nfrom facedaemon.worker.protocol import ChildSettings\n"
            "known, _negatives, summary = _load(ChildSettings(Path(sys.argv[1]), None, RecognitionConfig()))\n"
            "assert summary['people'] == ['Obama'] and summary['images'] == 1, summary\n"
            "loaded = {'face_recognition', 'pkg_resources'} & set(sys.modules)\n"
            "assert not loaded, f'loaded: {sorted(loaded)}'\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "faces")], cwd=REPO, timeout=120,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_encoder_alone_gives_face_recognitions_encodings(shared_data):
    face_recognition = engine.face_recognition_module()
    for photo in ("obama.jpg", "biden.jpg"):
        rgb = face_recognition.load_image_file(shared_data / "images" / photo)
        boxes = face_recognition.face_locations(rgb)
        assert boxes, photo
        theirs = face_recognition.face_encodings(rgb, known_face_locations=boxes)
        ours = engine.encode(rgb, boxes)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)
