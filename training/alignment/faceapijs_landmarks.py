"""Measure a lever the engine does not use: face-api.js's own landmark-aligned box.

The engine feeds face-api.js's age/gender net a box mapped from RetinaFace's by four fixed
numbers (`FACEAPIJS_BOX`). face-api.js itself runs its 68-landmark net on its detector's box
and gives the age/gender net the landmarks' bounding box grown by 10% a side. This script
does the same with our ONNX port of the landmark net, started from RetinaFace's box mapped
the way face-api.js's detector box relates to it (faceapijs_box.py), and prints age and
gender figures for each box, with the engine's sizes and mirrors, and for the two averaged.
Measuring only: nothing is fitted. It first checks the port against face-api.js in Node (the
peer, needs `npm ci --ignore-scripts --prefix peers/faceapijs`) on the group photos.

    python training/alignment/faceapijs_landmarks.py ../shared/data/utkface-dev \
        --photos ../shared/data/photos
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from faceapi.engine.align import FaceAligner
from faceapi.engine.detect import DetectorOptions, FaceDetector
from faceapi.engine.estimators import FACEAPIJS_SCALES, FaceApiJsAgeGenderEstimator
from faceapi.engine.faces import DetectedFace, Stopwatch
from faceapi.engine.manifest import ModelStore
from faceapi.engine.models import faceapijs_graph
from faceapi.engine.models.faceapijs import Box, FaceApiJsAgeGender, prepare_face
from faceapi.engine.models.retinaface import RetinaFace
from faceapi.engine.models.tfjs_weights import load_tfjs_weights
from faceapi.evaluation.dataset import Sample, load_dataset
from faceapi.evaluation.metrics import age_metrics, gender_metrics
from faceapi.evaluation.peers.faceapijs import FaceApiJsPeer, load_rgb
from faceapi.settings import Settings

# face-api.js's SSD box relative to RetinaFace's (faceapijs_box.py, "detector box").
DETECTOR_BOX = (1.010, 0.936, -0.020, -0.004)
LANDMARK_FILES = ("face_landmark_68_model-weights_manifest.json", "face_landmark_68_model.bin")
# Float32 noise between onnxruntime and tfjs stays far below this (at most 2.2e-5 px measured).
MAX_PORT_GAP = 1e-3


class Landmarks68:
    """face-api.js's FaceLandmark68Net and its `align()`: the box its other nets are given."""

    def __init__(self, model_dir: Path) -> None:
        weights = load_tfjs_weights(model_dir / LANDMARK_FILES[0], LANDMARK_FILES)
        self._session = ort.InferenceSession(
            faceapijs_graph.landmark_model(weights), providers=["CPUExecutionProvider"]
        )

    def points(self, image: NDArray[np.uint8], box: Box) -> NDArray[np.float64]:
        """[68, 2] landmarks in image pixels (`detectLandmarks`, then `shiftBy` the box)."""
        (out,) = self._session.run(["landmarks"], {"faces": prepare_face(image, box)[None]})
        height, width = image.shape[:2]
        x, y = max(box[0], 0.0), max(box[1], 0.0)
        face_width = int(min(box[0] + box[2] - x, width - x))  # extractFaceTensors' floors
        face_height = int(min(box[1] + box[3] - y, height - y))
        scale = faceapijs_graph.INPUT_SIZE / max(face_width, face_height)
        scaled = np.array([face_width * scale, face_height * scale])
        padding = np.maximum(scaled[::-1] - scaled, 0) / 2  # postProcess: pad the short side
        relative = (out[0].reshape(68, 2) * faceapijs_graph.INPUT_SIZE - padding) / scaled
        return relative * [face_width, face_height] + [box[0], box[1]]

    def aligned_box(self, image: NDArray[np.uint8], box: Box) -> Box:
        """`alignMinBbox(0.2)`: the landmarks' bounds grown by 10% of each side per side."""
        points = self.points(image, box)
        (x1, y1), (x2, y2) = points.min(axis=0), points.max(axis=0)
        width, height = x2 - x1, y2 - y1
        return (x1 - 0.1 * width, y1 - 0.1 * height, 1.2 * width, 1.2 * height)


def check_port(photos: Path, landmarks: Landmarks68) -> float:
    """Largest gap, in pixels, between our aligned box and face-api.js's, from its SSD box."""
    gaps = []
    with FaceApiJsPeer() as peer:
        for path in sorted(photos.glob("*.jpg")):
            rgb = load_rgb(path)
            face = peer.pipeline(rgb)
            if face is not None:
                ours = landmarks.aligned_box(rgb, face.box)
                gaps.append(np.abs(np.subtract(ours, face.aligned_box)).max())
    return float(max(gaps))


def _scaled(box: Box, scale: float) -> Box:
    x, y, width, height = box
    centre_x, centre_y = x + width / 2, y + height / 2
    return (
        centre_x - width * scale / 2,
        centre_y - height * scale / 2,
        width * scale,
        height * scale,
    )


class _Worker:
    """What one worker process loads once: the detector, the engine's face-api.js age/gender
    estimator (the fixed box, exactly as served), and the landmark and age/gender nets."""

    def __init__(self) -> None:
        store = ModelStore.from_manifest(Settings().npm_models_dir)
        self.detector = FaceDetector(
            RetinaFace(store.read(RetinaFace.MANIFEST_ID)), DetectorOptions()
        )
        self.aligner = FaceAligner(store.verified_paths(FaceAligner.MANIFEST_ID)[0])
        self.engine_estimator = FaceApiJsAgeGenderEstimator(store, threads=1)
        model_dir = store.verified_folder(
            FaceApiJsAgeGenderEstimator.MANIFEST_ID, FaceApiJsAgeGender.WEIGHT_FILES
        )
        self.landmarks = Landmarks68(model_dir)
        self.net = FaceApiJsAgeGender(model_dir)


_worker: _Worker | None = None


def _estimates(path: Path) -> dict[str, tuple[float, float]] | None:
    """(age, male probability) from the engine's fixed box, the landmark box and both."""
    global _worker
    worker = _worker = _worker or _Worker()
    image = load_rgb(path)
    found = worker.detector.detect(image)
    if not found:
        return None
    face = DetectedFace(image, found[0], worker.aligner, Stopwatch())
    served = worker.engine_estimator.estimate(face, age=True, gender=True)
    assert served.age is not None
    assert served.male_probability is not None
    # The landmark box, at the engine's box sizes, each with its mirror image.
    aligned = worker.landmarks.aligned_box(image, face.box(*DETECTOR_BOX))
    crops = np.stack([prepare_face(image, _scaled(aligned, s)) for s in FACEAPIJS_SCALES])
    ages, male = worker.net.run(np.concatenate([crops, crops[:, :, ::-1]]))
    landmark = (float(ages.mean()), float(male.mean()))
    return {
        "fixed box": (served.age, served.male_probability),
        "landmark box": landmark,
        "both boxes": (  # each box's six inputs weigh the same
            (served.age + landmark[0]) / 2,
            (served.male_probability + landmark[1]) / 2,
        ),
    }


def _report(name: str, faces: list[tuple[Sample, tuple[float, float]]]) -> None:
    ages = [estimate[0] for _, estimate in faces]
    genders = ["M" if estimate[1] > 0.5 else "F" for _, estimate in faces]
    bands = [sample.band for sample, _ in faces]
    age = age_metrics([sample.age for sample, _ in faces], ages, bands)
    gender = gender_metrics([sample.gender for sample, _ in faces], genders, {"by_band": bands})
    precheck = age["precheck_13_17_estimated_25_plus"]
    print(
        f"{name}: {age['count']} faces, age MAE {age['mae']:.2f}, "
        f"13-17 {age['by_band']['13-17']['mae']:.2f}, 60+ {age['by_band']['60+']['mae']:.2f}, "
        f"13-17 at 25+ {precheck['share']:.1%} "
        f"(of {precheck['count']}), gender {gender['accuracy']:.2%}, "
        f"0-12 {gender['by_band']['0-12']['accuracy']:.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path, help="a labelled folder, e.g. utkface-dev")
    parser.add_argument("--photos", type=Path, default=Path("../shared/data/photos"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    gap = check_port(args.photos, _Worker().landmarks)
    print(f"landmark port vs face-api.js: aligned boxes differ by at most {gap:.1e} px")
    if gap > MAX_PORT_GAP:
        raise SystemExit(f"the landmark port is off by more than {MAX_PORT_GAP} px")
    samples = load_dataset(args.dataset).samples
    with ProcessPoolExecutor(args.workers) as pool:
        estimates = list(pool.map(_estimates, [s.path for s in samples], chunksize=16))
    found = [(s, e) for s, e in zip(samples, estimates, strict=True) if e is not None]
    print(f"{len(samples) - len(found)} of {len(samples)} images without a face")
    for name in ("fixed box", "landmark box", "both boxes"):
        _report(name, [(sample, estimate[name]) for sample, estimate in found])


if __name__ == "__main__":
    main()
