"""One face and every model input cut from it, each computed at most once per request."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any, TypeVar

import dlib
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from faceapi.engine.align import FaceAligner, dlib_face_chip, template_chip
from faceapi.engine.models.retinaface import Detection

T = TypeVar("T")
# (x, y, width, height) in pixels.
BoxXYWH = tuple[float, float, float, float]


class Stopwatch:
    """Seconds spent per named stage of one request."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


class FaceInputs(ABC):
    """The face in `image`; estimators ask it for the crops their models were trained on."""

    def __init__(self, image: NDArray[np.uint8], aligner: FaceAligner, watch: Stopwatch) -> None:
        self.image = image
        self.watch = watch
        self._aligner = aligner
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()` once per face, for inputs that several models share."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @cached_property
    def dlib_shape(self) -> dlib.full_object_detection:
        with self.watch.stage("align"):
            return self._dlib_shape()

    def dlib_chip(self, size: int, padding: float) -> NDArray[np.uint8]:
        """dlib's standard face chip, as dlib-trained models expect."""
        shape = self.dlib_shape
        with self.watch.stage("align"):
            return dlib_face_chip(self.image, shape, size, padding)

    @abstractmethod
    def grey_chip(self, template: NDArray[np.float32], size: int) -> NDArray[np.uint8]:
        """A grey square chip framing the face the way `template` places the five landmarks."""

    @abstractmethod
    def box(
        self, width_scale: float, height_scale: float, shift_x: float, shift_y: float
    ) -> BoxXYWH:
        """A box derived from the detector's: scaled, and shifted by fractions of its size."""

    @abstractmethod
    def _dlib_shape(self) -> dlib.full_object_detection: ...


class DetectedFace(FaceInputs):
    def __init__(
        self, image: NDArray[np.uint8], face: Detection, aligner: FaceAligner, watch: Stopwatch
    ) -> None:
        super().__init__(image, aligner, watch)
        self.detection = face

    def _dlib_shape(self) -> dlib.full_object_detection:
        return self._aligner.landmarks(self.image, self.detection)

    def grey_chip(self, template: NDArray[np.float32], size: int) -> NDArray[np.uint8]:
        with self.watch.stage("align"):
            return _luma(template_chip(self.image, self.detection.landmarks, template, size))

    def box(
        self, width_scale: float, height_scale: float, shift_x: float, shift_y: float
    ) -> BoxXYWH:
        x1, y1, x2, y2 = self.detection.box
        width, height = x2 - x1, y2 - y1
        centre_x = (x1 + x2) / 2 + shift_x * width
        centre_y = (y1 + y2) / 2 + shift_y * height
        new_width, new_height = width * width_scale, height * height_scale
        return (centre_x - new_width / 2, centre_y - new_height / 2, new_width, new_height)


class CroppedFace(FaceInputs):
    """The whole frame is the face (a dataset of tight crops): no detector, no landmarks."""

    def _dlib_shape(self) -> dlib.full_object_detection:
        return self._aligner.landmarks_in_frame(self.image)

    def grey_chip(self, template: NDArray[np.float32], size: int) -> NDArray[np.uint8]:
        with self.watch.stage("align"):
            grey = Image.fromarray(self.image).convert("L")
            return np.asarray(grey.resize((size, size), Image.Resampling.BILINEAR))

    def box(
        self, width_scale: float, height_scale: float, shift_x: float, shift_y: float
    ) -> BoxXYWH:
        height, width = self.image.shape[:2]
        return (0.0, 0.0, float(width), float(height))


def _luma(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """ITU-R 601 grey, as Pillow's convert("L") computes it."""
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.clip(rgb.astype(np.float32) @ weights + 0.5, 0, 255).astype(np.uint8)
