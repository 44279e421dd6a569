"""Run the exported ONNX model with onnxruntime on a FER2013 split and report its scores.

Example: python evaluate.py --split val
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
from data import DEFAULT_CACHE, DEFAULT_DATA, EXPRESSIONS, holdout_mask, load_split
from export import DEFAULT_OUT


def run(model: Path, images: np.ndarray, threads: int = 2) -> np.ndarray:
    """Probabilities [N, 7], fed exactly as the product feeds them: grey 48x48 / 255."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    batches = [
        session.run(["probabilities"], {"input": images[i : i + 256, None] / np.float32(255)})[0]
        for i in range(0, len(images), 256)
    ]
    return np.concatenate(batches)


def confusion(labels: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Rows are true classes, columns predicted classes, in EXPRESSIONS order."""
    n = len(EXPRESSIONS)
    return np.bincount(labels * n + pred, minlength=n * n).reshape(n, n)


def report(labels: np.ndarray, pred: np.ndarray) -> dict:
    matrix = confusion(labels, pred)
    recall = matrix.diagonal() / matrix.sum(1)
    return {
        "images": len(labels),
        "accuracy": float((pred == labels).mean()),
        "recall": dict(zip(EXPRESSIONS, recall.round(4).tolist(), strict=True)),
        "confusion": matrix.tolist(),
    }


def print_report(result: dict) -> None:
    print(f"images {result['images']}  top-1 accuracy {result['accuracy']:.4f}")
    print("per-class recall:")
    for name, r in result["recall"].items():
        print(f"  {name:10s} {r:.4f}")
    print("confusion matrix (rows true, columns predicted):")
    print(" " * 11 + " ".join(f"{n[:5]:>6s}" for n in EXPRESSIONS))
    for name, row in zip(EXPRESSIONS, result["confusion"], strict=True):
        print(f"  {name:9s}" + " ".join(f"{v:6d}" for v in row))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=DEFAULT_OUT)
    p.add_argument(
        "--split",
        choices=["val", "holdout"],
        default="val",
        help="val = FER2013 PublicTest; holdout = the fixed 10%% of train kept out of fitting",
    )
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args()

    if args.split == "val":
        images, labels = load_split(args.data, "val", args.cache)
    else:
        images, labels = load_split(args.data, "train", args.cache)
        held = holdout_mask(labels)
        images, labels = images[held], labels[held]
    result = report(labels, run(args.model, images).argmax(1))
    print(f"model {args.model}  split {args.split}")
    print_report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
