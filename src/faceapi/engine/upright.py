"""The largest face, stood upright where it lies on its side: the models were trained on
upright faces, and a photo stored a quarter turn round without the EXIF tag that says so got
answers little better than chance (docs/accuracy.md).

RetinaFace's five landmarks tell the tilt: the line from between the eyes to the middle of
the mouth runs straight down on an upright face. A face tilted more than SIDEWAYS_DEGREES is
looked for again in the photo turned by the quarter turns nearest its tilt; past
_ROUGH_DEGREES, where the landmarks of a face on its side are rough, by each other quarter
turn, keeping the one whose largest upright face scores highest (upright against upside down,
the higher score was right for 99% of 300 UTKFace faces). A face tilted 35-50 degrees gains
little from a quarter turn, and choosing among all turns there sometimes stood it on its
head, hence the two cases. An upright face costs nothing more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from faceapi.engine.detect import FaceDetector, Search, scaled
from faceapi.engine.models.retinaface import Detection

SIDEWAYS_DEGREES = 45.0
# A face standing within this of upright is the one a quarter turn is after.
_UPRIGHT_DEGREES = 45.0
_ROUGH_DEGREES = 70.0


@dataclass(frozen=True, slots=True)
class UprightFace:
    image: NDArray[np.uint8]  # the photo, turned where its largest face lay on its side
    face: Detection  # in `image`'s pixels, at the photo's own scale
    faces_found: int  # in the photo


def tilt_degrees(face: Detection) -> float:
    """How far the line from between the eyes to the mouth turns from straight down, -180 to
    180: positive where the mouth lies to the image's right of the eyes."""
    eyes, _, mouth = np.split(face.landmarks, [2, 3])  # the nose tip between them
    across, down = mouth.mean(axis=0) - eyes.mean(axis=0)
    return math.degrees(math.atan2(across, down))


def upright_face(detector: FaceDetector, image: NDArray[np.uint8]) -> UprightFace | None:
    """The largest face in `image`, upright; None if there is no face."""
    found = detector.detect(image)
    if not found.faces:
        return None
    face = found.faces[0]
    if abs(tilt_degrees(face)) > SIDEWAYS_DEGREES:
        image, face = _quarter_turned(detector, image, face, found.search)
    return UprightFace(image, face, len(found.faces))


def _quarter_turned(
    detector: FaceDetector, image: NDArray[np.uint8], face: Detection, search: Search
) -> tuple[NDArray[np.uint8], Detection]:
    """The quarter turn of `image` whose largest upright face scores highest, and that face;
    `image` and `face` as they are if no turn has one. Only the scaled-down copy is turned
    to search, and the full image once, for the turn kept."""
    scale = search.scale_for(image)
    small = scaled(image, scale)
    tilt = tilt_degrees(face)
    nearest = -round(tilt / 90) % 4  # numpy turns anticlockwise
    best_turns, best = 0, face
    for quarter_turns in (1, 2, 3) if abs(tilt) > _ROUGH_DEGREES else (nearest,):
        turned = np.rot90(small, quarter_turns)
        faces = detector.search_scaled(turned, scale, search.score_threshold)
        upright = [found for found in faces if abs(tilt_degrees(found)) <= _UPRIGHT_DEGREES]
        if upright and (best_turns == 0 or upright[0].score > best.score):
            best_turns, best = quarter_turns, upright[0]
    if best_turns == 0:
        return image, face
    return np.ascontiguousarray(np.rot90(image, best_turns)), best
