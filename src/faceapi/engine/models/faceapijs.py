"""face-api.js's age/gender and expression nets, run with ONNX Runtime.

The weights are face-api.js's own (npm package @vladmandic/face-api 1.7.15, MIT), read from
`models/npm/node_modules/@vladmandic/face-api/model`; `faceapijs_graph` rebuilds the networks.
`prepare_face` reproduces what face-api.js does to a detected face before either net sees it,
so that the same image and box give the same outputs here as in Node (see
tests/test_faceapijs_parity.py and docs/models/faceapijs.md).

face-api.js pads and resizes in float32 (tfjs `resizeBilinear`), so prepared faces are float32
pixels in 0..255, not uint8.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from faceapi.engine.models import faceapijs_graph
from faceapi.engine.models.faceapijs_graph import INPUT_SIZE
from faceapi.engine.models.session import create_session
from faceapi.engine.models.tfjs_weights import Weights, load_tfjs_weights

Box = tuple[float, float, float, float]


def prepare_face(image: NDArray[np.uint8], box: Box) -> NDArray[np.float32]:
    """Cut `box` (x, y, width, height, pixels) out of an RGB image as face-api.js's nets see it.

    This is `extractFaceTensors` (clip the box to the image, floor x, y, width and height,
    slice) followed by `NetInput.toBatchTensor(112, true)` (zero-pad the short side to a
    square, centred, then tfjs `resizeBilinear` without corner alignment). Returns
    [112, 112, 3] float32, because tfjs resizes in float32. Raises ValueError when the box
    has no pixel inside the image.
    """
    height, width = image.shape[:2]
    x, y, box_width, box_height = _clip_box(box, width, height)
    if box_width <= 0 or box_height <= 0:
        raise ValueError(f"box {box} has no pixel inside the {width}x{height} image")
    face = image[y : y + box_height, x : x + box_width].astype(np.float32)
    square = _pad_to_square(face)
    if square.shape[0] == INPUT_SIZE:
        return square
    return _resize_bilinear(square, INPUT_SIZE)


def _clip_box(box: Box, image_width: int, image_height: int) -> tuple[int, int, int, int]:
    """face-api.js's `Box.clipAtImageBorders`: clip, then floor each of x, y, width, height."""
    x, y, width, height = box
    clipped_x = max(x, 0.0)
    clipped_y = max(y, 0.0)
    clipped_width = min(x + width - clipped_x, image_width - clipped_x)
    clipped_height = min(y + height - clipped_y, image_height - clipped_y)
    return (
        math.floor(clipped_x),
        math.floor(clipped_y),
        math.floor(clipped_width),
        math.floor(clipped_height),
    )


def _pad_to_square(face: NDArray[np.float32]) -> NDArray[np.float32]:
    """`padToSquare(x, isCenterImage=true)`: the larger half of the padding goes after."""
    height, width = face.shape[:2]
    difference = abs(height - width)
    after = (difference + 1) // 2  # Math.round(difference * 0.5) rounds halves up
    before = difference - after
    if height > width:
        return np.pad(face, [(0, 0), (before, after), (0, 0)])
    return np.pad(face, [(before, after), (0, 0), (0, 0)])


def _resize_bilinear(image: NDArray[np.float32], size: int) -> NDArray[np.float32]:
    """tfjs-backend-wasm `resizeBilinear(alignCorners=false, halfPixelCenters=false)`.

    That kernel is XNNPACK's TensorFlow-legacy bilinear resize: source coordinate
    `out_index * (in_size / out_size)` and the lerps all in float32, horizontal first.
    """
    top, bottom, row_fraction = _source_positions(image.shape[0], size)
    left, right, column_fraction = _source_positions(image.shape[1], size)
    column_fraction = column_fraction[None, :, None]
    upper, lower = image[top], image[bottom]
    upper = upper[:, left] + (upper[:, right] - upper[:, left]) * column_fraction
    lower = lower[:, left] + (lower[:, right] - lower[:, left]) * column_fraction
    return upper + (lower - upper) * row_fraction[:, None, None]


def _source_positions(
    in_size: int, out_size: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float32]]:
    scale = np.float32(in_size) / np.float32(out_size)
    position = np.arange(out_size, dtype=np.float32) * scale
    first = position.astype(np.intp)  # truncation = floor: positions are never negative
    second = np.minimum(first + 1, in_size - 1)
    return first, second, position - first.astype(np.float32)


class _FaceApiJsNet(ABC):
    """An ONNX Runtime session over one face-api.js net, built once from its weight files."""

    INPUT_SIZE: ClassVar[int] = INPUT_SIZE
    MANIFEST: ClassVar[str]
    WEIGHT_FILES: ClassVar[tuple[str, ...]]

    def __init__(self, model_dir: Path, *, threads: int = 1) -> None:
        """Load WEIGHT_FILES from `model_dir` (face-api.js's `model` folder) and build the net.

        `threads` is onnxruntime's intra-op thread count.
        """
        weights = load_tfjs_weights(model_dir / self.MANIFEST, self.WEIGHT_FILES)
        self._session = create_session(self._build(weights), threads)

    @staticmethod
    @abstractmethod
    def _build(weights: Weights) -> bytes:
        """The serialised ONNX model for these weights."""

    def _run(self, faces: NDArray[np.floating], outputs: list[str]) -> list[NDArray[np.float32]]:
        if faces.ndim != 4 or faces.shape[1:] != (self.INPUT_SIZE, self.INPUT_SIZE, 3):
            raise ValueError(f"faces must be [N, 112, 112, 3], got {faces.shape}")
        batch = np.ascontiguousarray(faces, dtype=np.float32)
        return self._session.run(outputs, {"faces": batch})


class FaceApiJsAgeGender(_FaceApiJsNet):
    """face-api.js AgeGenderNet: TinyXception backbone, age regression and a gender softmax."""

    MANIFEST: ClassVar[str] = "age_gender_model-weights_manifest.json"
    # Files read from model_dir, for the models manifest's SHA-256 records.
    WEIGHT_FILES: ClassVar[tuple[str, ...]] = (MANIFEST, "age_gender_model.bin")

    @staticmethod
    def _build(weights: Weights) -> bytes:
        return faceapijs_graph.age_gender_model(weights)

    def run(self, faces: NDArray[np.floating]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """faces: [N, 112, 112, 3] RGB float32 pixels from prepare_face().

        Returns (age in years [N], probability that the face is male [N]).
        """
        age, gender = self._run(faces, ["age", "gender"])
        return age[:, 0], gender[:, 0]  # gender column 0 is face-api.js's male probability


class FaceApiJsExpression(_FaceApiJsNet):
    """face-api.js FaceExpressionNet: FaceFeatureExtractor backbone and a 7-way softmax."""

    MANIFEST: ClassVar[str] = "face_expression_model-weights_manifest.json"
    WEIGHT_FILES: ClassVar[tuple[str, ...]] = (MANIFEST, "face_expression_model.bin")
    # face-api.js's FACE_EXPRESSION_LABELS, which are also the API's labels and order.
    LABELS: ClassVar[tuple[str, ...]] = (
        "neutral",
        "happy",
        "sad",
        "angry",
        "fearful",
        "disgusted",
        "surprised",
    )

    @staticmethod
    def _build(weights: Weights) -> bytes:
        return faceapijs_graph.expression_model(weights)

    def run(self, faces: NDArray[np.floating]) -> NDArray[np.float32]:
        """faces: [N, 112, 112, 3] RGB float32 pixels from prepare_face().

        Returns [N, 7] probabilities in LABELS order.
        """
        return self._run(faces, ["expressions"])[0]
