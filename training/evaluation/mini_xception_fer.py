"""Accuracy of Human's emotion model (MiniXceptionEmotion) on FER2013, tight crops.

Each 48x48 frame is the face, cut as the engine cuts a `--crops` image (CroppedFace.grey_chip:
grey, the whole frame resized to 64x64 bilinear by Pillow). `--normalisation human` feeds the
network what Human 3.3.6 computes instead (src/gear/emotion.ts: luma weights 0.2989, 0.5870,
0.1140 on RGB / 255, not rounded to uint8, then (g - 0.5) * 2) to see what that costs.

    python training/evaluation/mini_xception_fer.py --data ../shared/data/fer2013 --split val
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from faceapi.engine.models.expression import EXPRESSIONS
from faceapi.engine.models.mini_xception import MiniXceptionEmotion, normalise
from faceapi.evaluation.dataset import load_dataset
from faceapi.evaluation.metrics import expression_metrics

MODEL_DIR = Path("models/npm/node_modules/@vladmandic/human/models")
HUMAN_LUMA = np.float32(0.2989) + np.float32(0.5870) + np.float32(0.1140)
BATCH = 64


def engine_crop(path: Path) -> NDArray[np.uint8]:
    """The whole frame as the face, as CroppedFace.grey_chip cuts it."""
    with Image.open(path) as image:
        grey = image.convert("RGB").convert("L")
    size = MiniXceptionEmotion.CHIP_SIZE
    return np.asarray(grey.resize((size, size), Image.Resampling.BILINEAR))


def human_normalise(faces: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Human's grey of an RGB face whose three channels are `faces`, then (g - 0.5) * 2."""
    grey = faces.astype(np.float32) / np.float32(255.0) * HUMAN_LUMA
    return ((grey - np.float32(0.5)) * np.float32(2.0))[..., np.newaxis]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fer2013"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--normalisation", choices=("training", "human"), default="training")
    args = parser.parse_args()

    dataset = load_dataset(args.data, split=args.split)
    faces = np.stack([engine_crop(sample.path) for sample in dataset.samples])
    prepare = normalise if args.normalisation == "training" else human_normalise
    model = MiniXceptionEmotion(MODEL_DIR)
    start = time.perf_counter()
    probabilities = np.concatenate(
        [model.run(prepare(faces[i : i + BATCH])) for i in range(0, len(faces), BATCH)]
    )
    seconds = time.perf_counter() - start
    predicted = [EXPRESSIONS[i] for i in probabilities.argmax(axis=1)]
    truth = [sample.expression for sample in dataset.samples]
    metrics = expression_metrics(truth, predicted, EXPRESSIONS)
    print(f"{dataset.name}: {metrics['count']} images, normalisation {args.normalisation}")
    print(f"accuracy {metrics['accuracy']:.4f}")
    for label, recall in metrics["recall"].items():
        print(f"  recall {label:<10} {recall:.4f}")
    print(f"{1000 * seconds / len(faces):.2f} ms per face (batches of {BATCH}, 1 thread)")


if __name__ == "__main__":
    main()
