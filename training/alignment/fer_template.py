"""Measure where RetinaFace puts the five landmarks in FER2013's 48-px training frames.

The median positions become FerExpression.TEMPLATE, so that faces cut from photos at
inference time are framed the way the expression network saw faces during training.
Reads the FER2013 train split only.

    python training/alignment/fer_template.py --data ../shared/data/fer2013 --count 3000
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

import numpy as np
from PIL import Image

from faceapi.engine.manifest import ModelStore
from faceapi.engine.models.retinaface import RetinaFace

# FER frames are too small for the detector's smallest anchors: enlarge, and add a grey
# border so faces touching the frame's edge are still whole faces to the detector.
UPSCALE = 4
BORDER = 96


def landmarks_in_frame(detector: RetinaFace, path: Path) -> np.ndarray | None:
    grey = Image.open(path).convert("L")
    large = np.asarray(grey.resize((48 * UPSCALE, 48 * UPSCALE), Image.Resampling.BILINEAR))
    padded = np.pad(large, BORDER, constant_values=128)
    faces = detector.detect(np.repeat(padded[..., None], 3, axis=2), score_threshold=0.8)
    if not faces:
        return None
    largest = max(faces, key=lambda face: face.area)
    return (largest.landmarks - BORDER) / UPSCALE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fer2013"))
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with (args.data / "labels.csv").open() as handle:
        train = [row["file"] for row in csv.DictReader(handle) if row["split"] == "train"]
    sample = random.Random(args.seed).sample(train, args.count)
    detector = RetinaFace(ModelStore.from_manifest(Path("models/npm")).read(RetinaFace.MANIFEST_ID))
    measured = (landmarks_in_frame(detector, args.data / file) for file in sample)
    found = [points for points in measured if points is not None]
    template = np.median(np.stack(found), axis=0)
    print(f"faces found in {len(found)} of {len(sample)} training frames")
    print("TEMPLATE =", np.round(template * 2) / 2)


if __name__ == "__main__":
    main()
