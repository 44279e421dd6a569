"""Measure how face-api.js's "aligned box" relates to RetinaFace's box, on data we may fit on.

face-api.js feeds its age/gender and expression nets the bounding box of its 68 landmarks
grown by 10% per side. We run those nets on boxes derived from RetinaFace instead, with the
four numbers printed here. Faces: the six group photos (MIT), scikit-image's astronaut and
cameraman (public domain) and FER2013 *train* frames; never UTKFace. Needs the face-api.js
peer (npm ci --ignore-scripts --prefix peers/faceapijs).

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
    relations = []
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
                ax, ay, aw, ah = found.aligned_box
                centre_x, centre_y = (x1 + x2) / 2 - left, (y1 + y2) / 2 - top
                if abs(ax + aw / 2 - centre_x) > face.width / 2:
                    continue  # face-api.js picked a different face
                relations.append(
                    [
                        aw / face.width,
                        ah / face.height,
                        (ax + aw / 2 - centre_x) / face.width,
                        (ay + ah / 2 - centre_y) / face.height,
                    ]
                )
    median = np.median(np.array(relations), axis=0)
    spread = np.percentile(np.array(relations), [25, 75], axis=0)
    print(f"{len(relations)} faces matched")
    for name, value, (low, high) in zip(
        ("WIDTH_SCALE", "HEIGHT_SCALE", "SHIFT_X", "SHIFT_Y"), median, spread.T, strict=True
    ):
        print(f"{name} = {value:.3f}  (quartiles {low:.3f} .. {high:.3f})")


if __name__ == "__main__":
    main()
