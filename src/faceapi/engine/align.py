"""Face alignment: landmarks on a detected face, and chips cut the way each model expects."""

from __future__ import annotations

from pathlib import Path

import dlib
import numpy as np
from numpy.typing import NDArray

from faceapi.engine.models.retinaface import Detection


class FaceAligner:
    """dlib's 5-point landmark predictor, and dlib's anti-aliased chip extraction."""

    MANIFEST_ID = "dlib-landmarks-5"
    # The predictor was trained on boxes from dlib's own detectors: squares about 0.94 x the
    # geometric mean of a RetinaFace box's sides, centred 7% of its height lower (measured on
    # the group photos and the astronaut portrait by training/alignment/dlib_box.py).
    BOX_SCALE = 0.94
    BOX_SHIFT_Y = 0.07
    PREPROCESSING = (
        f"RGB image; the predictor starts from a square box {BOX_SCALE} x the detector box's "
        f"size, {BOX_SHIFT_Y} of its height lower"
    )

    def __init__(self, predictor_path: Path) -> None:
        self._predictor = dlib.shape_predictor(str(predictor_path))

    def landmarks(self, image: NDArray[np.uint8], face: Detection) -> dlib.full_object_detection:
        """dlib's five landmarks (eye corners and nose base), placed from the detector's box."""
        x1, y1, x2, y2 = face.box
        side = self.BOX_SCALE * float(np.sqrt(face.width * face.height))
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 + self.BOX_SHIFT_Y * face.height
        box = dlib.rectangle(
            round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2)
        )
        return self._predictor(image, box)

    def landmarks_in_frame(self, image: NDArray[np.uint8]) -> dlib.full_object_detection:
        """Landmarks for an image that is itself a face crop: the frame is the box."""
        height, width = image.shape[:2]
        return self._predictor(image, dlib.rectangle(0, 0, width - 1, height - 1))


def dlib_face_chip(
    image: NDArray[np.uint8], shape: dlib.full_object_detection, size: int, padding: float
) -> NDArray[np.uint8]:
    """dlib's standard face chip: what dlib-trained models (Cydral age, gender) expect."""
    details = dlib.get_face_chip_details(shape, size, padding)
    return np.ascontiguousarray(dlib.extract_image_chip(image, details))


def template_chip(
    image: NDArray[np.uint8],
    landmarks: NDArray[np.float32],
    template: NDArray[np.float32],
    size: int,
) -> NDArray[np.uint8]:
    """A `size` square chip whose similarity transform puts `landmarks` nearest `template`."""
    chip_points = dlib.dpoints([dlib.dpoint(float(x), float(y)) for x, y in template])
    image_points = dlib.dpoints([dlib.dpoint(float(x), float(y)) for x, y in landmarks])
    details = dlib.chip_details(chip_points, image_points, dlib.chip_dims(size, size))
    return np.ascontiguousarray(dlib.extract_image_chip(image, details))
