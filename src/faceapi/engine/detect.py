"""Face detection at a size the detector handles well, mapped back to the original image."""

from __future__ import annotations

import math
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

# A photo stored a quarter turn round without the EXIF tag that says so shows faces lying on
# their side, and the models, trained on upright faces, then answer little better than
# chance. RetinaFace still finds most such faces, but its landmarks betray them: the line
# from between the eyes to the middle of the mouth, straight down on an upright face, lies
# more than SIDEWAYS_DEGREES off. Such a photo is searched again turned each other way, and
# the turn whose largest face stands upright with the highest score is kept: this costs an
# upright photo nothing. No upright face of 3,658 in UTKFace looked sideways; a face upside
# down often passes for upright (docs/accuracy.md has the figures). A photo in which no face
# is found is not searched turned: three more searches would make every such answer, common
# from a shop's camera, cost four times as much.
SIDEWAYS_DEGREES = 45.0


@dataclass(frozen=True, slots=True)
class DetectorOptions:
    """Large photos are scaled down to `max_side` first: faces stay findable, cost stays flat.

    Where that finds no face, they are searched again at `retry_max_side` (0: never).
    """

    max_side: int = 640
    score_threshold: float = 0.8
    nms_threshold: float = RetinaFace.NMS_THRESHOLD
    retry_max_side: int = 1920


@dataclass(frozen=True, slots=True)
class FoundFaces:
    image: NDArray[np.uint8]  # the image searched, turned where its largest face lay sideways
    faces: list[Detection]  # in `image`'s pixel coordinates, largest first


class FaceDetector:
    def __init__(self, model: RetinaFace, options: DetectorOptions) -> None:
        self.model = model
        self._options = options

    def detect(self, image: NDArray[np.uint8]) -> FoundFaces:
        """All faces in `image`, largest first, with the image turned so that the largest
        stands upright if it lay on its side."""
        options = self._options
        faces = self._detect_at(image, options.max_side, options.score_threshold)
        retry_side = min(max(image.shape[:2]), options.retry_max_side)
        if not faces and retry_side >= RETRY_MIN_GAIN * options.max_side:
            threshold = max(options.score_threshold, RETRY_SCORE_THRESHOLD)
            faces = self._detect_at(image, retry_side, threshold)
        if faces and lies_sideways(faces[0]):
            return self._turned_upright(image, faces)
        return FoundFaces(image, faces)

    def _turned_upright(self, image: NDArray[np.uint8], faces: list[Detection]) -> FoundFaces:
        """The turn of `image` whose largest face stands upright with the highest score; the
        image as it is, with `faces`, if none does. Only the scaled-down copy is turned to
        search, and the full image only once, for the turn kept."""
        scale = min(1.0, self._options.max_side / max(image.shape[:2]))
        small = _resize(image, scale) if scale < 1.0 else image
        threshold = self._options.score_threshold
        best_turns, best_faces = 0, faces
        for quarter_turns in (1, 2, 3):
            found = self._faces_in(np.rot90(small, quarter_turns), scale, threshold)
            if not found or lies_sideways(found[0]):
                continue
            if best_turns == 0 or found[0].score > best_faces[0].score:
                best_turns, best_faces = quarter_turns, found
        if best_turns == 0:
            return FoundFaces(image, faces)
        return FoundFaces(np.ascontiguousarray(np.rot90(image, best_turns)), best_faces)

    def _detect_at(
        self, image: NDArray[np.uint8], max_side: int, score_threshold: float
    ) -> list[Detection]:
        scale = min(1.0, max_side / max(image.shape[:2]))
        small = _resize(image, scale) if scale < 1.0 else image
        return self._faces_in(small, scale, score_threshold)

    def _faces_in(
        self, small: NDArray[np.uint8], scale: float, score_threshold: float
    ) -> list[Detection]:
        """Faces in `small`, an image scaled by `scale`, in the unscaled image's pixels."""
        contiguous = np.ascontiguousarray(small)
        found = self.model.detect(contiguous, score_threshold, self._options.nms_threshold)
        faces = [face.scaled(1 / scale) for face in found] if scale < 1.0 else found
        return sorted(faces, key=lambda face: face.area, reverse=True)


def lies_sideways(face: Detection) -> bool:
    """Whether the line from between the eyes to the mouth is far from straight down."""
    eyes, _, mouth = np.split(face.landmarks, [2, 3])  # the nose tip between them
    across, down = mouth.mean(axis=0) - eyes.mean(axis=0)
    return abs(math.degrees(math.atan2(across, down))) > SIDEWAYS_DEGREES


def _resize(image: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
