"""Measure how dlib's detector boxes relate to RetinaFace's, on photos we may fit on.

dlib's 5-point landmark predictor was trained on dlib detector boxes; FaceAligner turns a
RetinaFace box into such a box with the two numbers printed here. Uses the six group
photos in ../shared/data/photos (MIT) and scikit-image's public-domain astronaut, never
UTKFace.

    python training/alignment/dlib_box.py --photos ../shared/data/photos
"""

from __future__ import annotations

import argparse
from pathlib import Path

import dlib
import numpy as np
import skimage.data
from PIL import Image

from faceapi.engine.manifest import ModelStore
from faceapi.engine.models.retinaface import RetinaFace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=Path, default=Path("../shared/data/photos"))
    args = parser.parse_args()

    images = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(args.photos.glob("*.jpg"))]
    images.append(skimage.data.astronaut())
    retinaface = RetinaFace(ModelStore.from_manifest(Path("models/npm")).read("retinaface"))
    hog = dlib.get_frontal_face_detector()
    scales, shifts = [], []
    for image in images:
        faces = retinaface.detect(image, score_threshold=0.8)
        for box in hog(image, 1):
            centre = np.array([box.center().x, box.center().y])
            face = min(faces, key=lambda f: np.hypot(*(centre - _centre(f.box))))
            if np.abs(centre - _centre(face.box)).max() > 0.3 * face.width:
                continue  # dlib found a face RetinaFace did not: nothing to compare
            scales.append(box.width() / np.sqrt(face.width * face.height))
            shifts.append((centre[1] - _centre(face.box)[1]) / face.height)
    print(f"{len(scales)} faces matched")
    print(f"BOX_SCALE = {np.mean(scales):.2f} (sd {np.std(scales):.2f})")
    print(f"BOX_SHIFT_Y = {np.mean(shifts):.2f} (sd {np.std(shifts):.2f})")


def _centre(box: tuple[float, float, float, float]) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


if __name__ == "__main__":
    main()
