"""FER2013 loading, the fixed hold-out split and the label order shared by train/export/evaluate."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

# The product's output order (faceapi.engine.models.expression.EXPRESSIONS).
EXPRESSIONS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
DEFAULT_DATA = Path("/work/shared/data/fer2013")
DEFAULT_CACHE = Path("/work/venvs/train-cache")
HOLDOUT_SEED = 20260101
HOLDOUT_FRACTION = 0.10


def load_split(
    data: Path, split: str, cache: Path = DEFAULT_CACHE
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Images [N, 48, 48] uint8 and labels [N] for one split, decoded once and cached as .npy."""
    rows = _rows(data, split)
    # Key the cache on the file list so a changed labels.csv never reuses stale arrays.
    key = hashlib.sha256("\n".join(f"{f},{e}" for f, e in rows).encode()).hexdigest()[:12]
    images_path = cache / f"fer2013-{split}-{key}-images.npy"
    labels_path = cache / f"fer2013-{split}-{key}-labels.npy"
    if images_path.exists() and labels_path.exists():
        return np.load(images_path), np.load(labels_path)
    images = np.stack([_decode(data / f) for f, _ in rows])
    labels = np.array([EXPRESSIONS.index(e) for _, e in rows], dtype=np.int64)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(images_path, images)
    np.save(labels_path, labels)
    return images, labels


def holdout_mask(labels: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Fixed, seeded, stratified 10% of train used for every training-time decision."""
    rng = np.random.default_rng(HOLDOUT_SEED)
    mask = np.zeros(len(labels), dtype=bool)
    for c in range(len(EXPRESSIONS)):
        idx = np.flatnonzero(labels == c)
        mask[rng.choice(idx, size=round(len(idx) * HOLDOUT_FRACTION), replace=False)] = True
    return mask


def _rows(data: Path, split: str) -> list[tuple[str, str]]:
    with (data / "labels.csv").open(newline="") as f:
        rows = [(r["file"], r["expression"]) for r in csv.DictReader(f) if r["split"] == split]
    if not rows:
        raise ValueError(f"no rows with split == {split!r} in {data / 'labels.csv'}")
    return rows


def _decode(path: Path) -> NDArray[np.uint8]:
    with Image.open(path) as im:
        grey = im.convert("L")
        if grey.size != (48, 48):
            grey = grey.resize((48, 48), Image.Resampling.BILINEAR)
        return np.asarray(grey, dtype=np.uint8)
