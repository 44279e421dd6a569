"""Face detection at a size the detector handles well, mapped back to the original image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from faceapi.engine.models.retinaface import Detection, RetinaFace


@dataclass(frozen=True, slots=True)
class DetectorOptions:
    """Large photos are scaled down to `max_side` first: faces stay findable, cost stays flat."""

    max_side: int = 640
    score_threshold: float = 0.8
    nms_threshold: float = RetinaFace.NMS_THRESHOLD


class FaceDetector:
    def __init__(self, model: RetinaFace, options: DetectorOptions) -> None:
        self.model = model
        self._options = options

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        """All faces in `image`, in its own pixel coordinates, largest first."""
        scale = min(1.0, self._options.max_side / max(image.shape[:2]))
        small = _resize(image, scale) if scale < 1.0 else image
        found = self.model.detect(small, self._options.score_threshold, self._options.nms_threshold)
        faces = [face.scaled(1 / scale) for face in found] if scale < 1.0 else found
        return sorted(faces, key=lambda face: face.area, reverse=True)


def _resize(image: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
