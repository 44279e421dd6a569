"""Face detection at a size the detector handles well, mapped back to the original image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from faceapi.engine.models.retinaface import Detection, RetinaFace

# A face of under about 30 px in the scaled-down photo escapes the detector: one 100 px
# across in a 4032 px phone photo is 16 px at 640. When nothing is found there, a photo at
# least RETRY_MIN_GAIN times larger is searched once more at up to `retry_max_side` (0.25-0.3
# s more on one core, docs/performance.md), so such faces are found, and one still under
# `min_face_side` is reported as too small rather than absent. At that size the detector
# also sees faces in coffee foam and cats' fur (scores up to 0.92 in 19 face-free photos),
# so the retry asks for more confidence. Of 80 UTKFace faces pasted 110-200 px wide into
# 4032 px photos, 11 were found before and 66 with the retry at 0.95; in 111 photos without
# faces it found none.
RETRY_SCORE_THRESHOLD = 0.95
RETRY_MIN_GAIN = 1.5


@dataclass(frozen=True, slots=True)
class DetectorOptions:
    """Large photos are scaled down to `max_side` first: faces stay findable, cost stays flat.

    Where that finds no face, they are searched again at `retry_max_side` (0: never).
    """

    max_side: int = 640
    score_threshold: float = 0.8
    nms_threshold: float = RetinaFace.NMS_THRESHOLD
    retry_max_side: int = 1920


class FaceDetector:
    def __init__(self, model: RetinaFace, options: DetectorOptions) -> None:
        self.model = model
        self._options = options

    def detect(self, image: NDArray[np.uint8]) -> list[Detection]:
        """All faces in `image`, in its own pixel coordinates, largest first."""
        options = self._options
        faces = self._detect_at(image, options.max_side, options.score_threshold)
        retry_side = min(max(image.shape[:2]), options.retry_max_side)
        if not faces and retry_side >= RETRY_MIN_GAIN * options.max_side:
            threshold = max(options.score_threshold, RETRY_SCORE_THRESHOLD)
            faces = self._detect_at(image, retry_side, threshold)
        return faces

    def _detect_at(
        self, image: NDArray[np.uint8], max_side: int, score_threshold: float
    ) -> list[Detection]:
        scale = min(1.0, max_side / max(image.shape[:2]))
        small = _resize(image, scale) if scale < 1.0 else image
        found = self.model.detect(small, score_threshold, self._options.nms_threshold)
        faces = [face.scaled(1 / scale) for face in found] if scale < 1.0 else found
        return sorted(faces, key=lambda face: face.area, reverse=True)


def _resize(image: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
