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
# A face that fills a small image is missed at its own size: of the first 600 48 px FER2013
# faces, RetinaFace found 23% as they are, 98.8% enlarged to 160 px (98.0% at 128, 99.0% at
# 320, for twice the time). In 475 small face-free pictures (scikit-image's, and crops of
# them, 48-150 px) it found one false face at 160 px and none as they were.
MIN_SIDE = 160


@dataclass(frozen=True, slots=True)
class DetectorOptions:
    """Large photos are scaled down to `max_side` first: faces stay findable, cost stays flat.
    Small ones are enlarged to `min_side` (0: never).

    Where that finds no face, they are searched again at `retry_max_side` (0: never).
    """

    max_side: int = 640
    min_side: int = MIN_SIDE
    score_threshold: float = 0.8
    nms_threshold: float = RetinaFace.NMS_THRESHOLD
    retry_max_side: int = 1920


@dataclass(frozen=True, slots=True)
class Search:
    """One look for faces: the image scaled to `max_side` at most (and enlarged to `min_side`
    at least), and the confidence needed."""

    max_side: int
    score_threshold: float
    min_side: int = 0

    def scale_for(self, image: NDArray[np.uint8]) -> float:
        """The scale that brings `image`'s longer side within `min_side` to `max_side`."""
        longest = max(image.shape[:2])
        if longest > self.max_side:
            return self.max_side / longest
        if longest < self.min_side:
            return self.min_side / longest
        return 1.0


@dataclass(frozen=True, slots=True)
class Found:
    faces: list[Detection]  # in the image's own pixel coordinates, largest first
    search: Search  # the look that found them


class FaceDetector:
    def __init__(self, model: RetinaFace, options: DetectorOptions) -> None:
        self.model = model
        self._options = options

    def detect(self, image: NDArray[np.uint8]) -> Found:
        """All faces in `image`, largest first, and the look that found them."""
        options = self._options
        search = Search(options.max_side, options.score_threshold, options.min_side)
        faces = self._search(image, search)
        retry_side = min(max(image.shape[:2]), options.retry_max_side)
        if not faces and retry_side >= RETRY_MIN_GAIN * options.max_side:
            search = Search(retry_side, max(options.score_threshold, RETRY_SCORE_THRESHOLD))
            faces = self._search(image, search)
        return Found(faces, search)

    def _search(self, image: NDArray[np.uint8], search: Search) -> list[Detection]:
        """Faces in `image` seen at the scale `search` sets, in `image`'s pixels, largest first."""
        scale = search.scale_for(image)
        return self.search_scaled(scaled(image, scale), scale, search.score_threshold)

    def search_scaled(
        self, small: NDArray[np.uint8], scale: float, score_threshold: float
    ) -> list[Detection]:
        """Faces in `small`, an image scaled by `scale`, in the unscaled image's pixels."""
        contiguous = np.ascontiguousarray(small)
        found = self.model.detect(contiguous, score_threshold, self._options.nms_threshold)
        faces = [face.scaled(1 / scale) for face in found] if scale != 1.0 else found
        return sorted(faces, key=lambda face: face.area, reverse=True)


def scaled(image: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    """`image` resized by `scale` (itself at 1)."""
    if scale == 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
