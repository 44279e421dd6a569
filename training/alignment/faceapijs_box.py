"""Measure how face-api.js's boxes relate to RetinaFace's box, on data we may fit on.

face-api.js runs its 68-landmark net on its SSD detector's box, then feeds its age/gender and
expression nets the bounding box of those landmarks grown by 10% per side (the "aligned box").
The engine runs those nets on a box derived from RetinaFace's with the aligned-box numbers
printed here (`FACEAPIJS_BOX` in engine/estimators.py); faceapijs_landmarks.py, which
measures face-api.js's own landmark route, starts from the detector-box numbers. Faces: the
six group photos (MIT), scikit-image's astronaut and cameraman (public domain) and FER2013
*train* frames; never UTKFace. Needs the face-api.js peer (npm ci --ignore-scripts --prefix
peers/faceapijs).

    python training/alignment/faceapijs_box.py --data ../shared/data --fer 400
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

from faceapi.engine.manifest import ModelStore
from faceapi.engine.models.retinaface import RetinaFace
from faceapi.evaluation.peers.faceapijs import FaceApiJsPeer
from faceapi.settings import Settings

# Each face is cut out with this much context so it is the only (largest) face face-api.js sees.
CONTEXT = 1.5


def photos(data: Path, fer_count: int) -> Iterator[np.ndarray]:
    for path in sorted((data / "photos").glob("*.jpg")):
        yield np.asarray(Image.open(path).convert("RGB"))
    yield skimage.data.astronaut()
    yield np.repeat(skimage.data.camera()[..., None], 3, axis=2)
    with (data / "fer2013" / "labels.csv").open() as handle:
        train = [row["file"] for row in csv.DictReader(handle) if row["split"] == "train"]
    for file in random.Random(0).sample(train, fer_count):
        grey = Image.open(data / "fer2013" / file).convert("L").resize((192, 192))
        framed = np.pad(np.asarray(grey), 96, constant_values=128)
        yield np.repeat(framed[..., None], 3, axis=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--fer", type=int, default=400, help="FER2013 train frames to use")
    args = parser.parse_args()

    store = ModelStore.from_manifest(Settings().npm_models_dir)
    retinaface = RetinaFace(store.read(RetinaFace.MANIFEST_ID))
    relations: dict[str, list[list[float]]] = {"detector box": [], "aligned box": []}
    with FaceApiJsPeer() as peer:
        for image in photos(args.data, args.fer):
            for face in retinaface.detect(image, score_threshold=0.8):
                x1, y1, x2, y2 = face.box
                margin_x, margin_y = CONTEXT * face.width, CONTEXT * face.height
                left, top = max(0, round(x1 - margin_x)), max(0, round(y1 - margin_y))
                crop = image[top : round(y2 + margin_y), left : round(x2 + margin_x)]
                found = peer.pipeline(np.ascontiguousarray(crop))
                if found is None:
                    continue
                centre = ((x1 + x2) / 2 - left, (y1 + y2) / 2 - top)
                ax, _, aw, _ = found.aligned_box
                if abs(ax + aw / 2 - centre[0]) > face.width / 2:
                    continue  # face-api.js picked a different face
                size = (face.width, face.height)
                relations["detector box"].append(_relation(found.box, centre, size))
                relations["aligned box"].append(_relation(found.aligned_box, centre, size))
    for name, rows in relations.items():
        median = np.median(np.array(rows), axis=0)
        spread = np.percentile(np.array(rows), [25, 75], axis=0)
        print(f"face-api.js's {name}, {len(rows)} faces matched")
        for label, value, (low, high) in zip(
            ("WIDTH_SCALE", "HEIGHT_SCALE", "SHIFT_X", "SHIFT_Y"), median, spread.T, strict=True
        ):
            print(f"  {label} = {value:.3f}  (quartiles {low:.3f} .. {high:.3f})")


def _relation(
    box: tuple[float, float, float, float],
    centre: tuple[float, float],
    size: tuple[float, float],
) -> list[float]:
    """`box` (x, y, width, height) as scales and centre shifts of RetinaFace's box."""
    x, y, width, height = box
    return [
        width / size[0],
        height / size[1],
        (x + width / 2 - centre[0]) / size[0],
        (y + height / 2 - centre[1]) / size[1],
    ]


if __name__ == "__main__":
    main()
