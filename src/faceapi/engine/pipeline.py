"""The engine: image bytes in, analysis of the largest face out, with the time each stage took."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path

import dlib
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from faceapi.engine.align import FaceAligner, dlib_face_chip, template_chip
from faceapi.engine.decode import ImageLimits, decode_image
from faceapi.engine.detect import DetectorOptions, FaceDetector
from faceapi.engine.manifest import ModelStore
from faceapi.engine.models.cydral import CHIP_PADDING, CydralAge, CydralGender
from faceapi.engine.models.expression import EXPRESSIONS, FerExpression
from faceapi.engine.models.retinaface import Detection, RetinaFace
from faceapi.errors import ErrorCode, FaceApiError


class Task(StrEnum):
    AGE = "age"
    GENDER = "gender"
    EXPRESSION = "expression"


@dataclass(frozen=True, slots=True)
class EngineOptions:
    limits: ImageLimits = field(default_factory=ImageLimits)
    detector: DetectorOptions = field(default_factory=DetectorOptions)
    min_face_side: int = 20
    threads: int = 1  # ONNX Runtime threads per inference; concurrency is bounded elsewhere


@dataclass(frozen=True, slots=True)
class FaceAnalysis:
    """What the engine found; attributes of tasks that were not asked for stay None."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2 of the analysed face
    faces_found: int
    age: float | None = None
    male_probability: float | None = None
    expression: dict[str, float] | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


class Engine:
    """All models, loaded once; `analyze` is thread-safe (ONNX Runtime and dlib are)."""

    def __init__(self, store: ModelStore, options: EngineOptions) -> None:
        self.options = options
        self.store = store
        threads = options.threads
        self._detector = FaceDetector(
            RetinaFace(store.read(RetinaFace.MANIFEST_ID), threads=threads), options.detector
        )
        self._aligner = FaceAligner(store.verified_path(FaceAligner.MANIFEST_ID))
        self._age = CydralAge(store.read(CydralAge.MANIFEST_ID), threads=threads)
        self._gender = CydralGender(store.read(CydralGender.MANIFEST_ID), threads=threads)
        self._expression = FerExpression(store.read(FerExpression.MANIFEST_ID), threads=threads)
        self._models = (
            self._detector.model,
            self._aligner,
            self._age,
            self._gender,
            self._expression,
        )

    @classmethod
    def load(cls, npm_root: Path, options: EngineOptions | None = None) -> Engine:
        return cls(ModelStore.from_manifest(npm_root), options or EngineOptions())

    def describe_models(self) -> list[dict[str, str | None]]:
        """Each model in use: its manifest entry and the preprocessing its class applies."""
        return [
            {
                **self.store.source(model.MANIFEST_ID).describe(),
                "preprocessing": model.PREPROCESSING,
            }
            for model in self._models
        ]

    def analyze(self, data: bytes, tasks: frozenset[Task], *, crop: bool = False) -> FaceAnalysis:
        """Decode `data` and analyse its largest face.

        With `crop`, the image is already a tight face crop (as in FER2013): detection is
        skipped and the whole frame is the face, but each model still gets its own input.
        """
        watch = _Stopwatch()
        with watch.stage("decode"):
            image = decode_image(data, self.options.limits)
        if crop:
            height, width = image.shape[:2]
            face = _CroppedFace(image, self._aligner, watch)
            return self._attributes(face, tasks, (0.0, 0.0, width, height), 1, watch)
        with watch.stage("detect"):
            found = self._detector.detect(image)
        if not found:
            raise FaceApiError(ErrorCode.NO_FACE_FOUND)
        largest = found[0]
        side = round(min(largest.width, largest.height))
        if side < self.options.min_face_side:
            raise FaceApiError(
                ErrorCode.FACE_TOO_SMALL, size=side, minimum=self.options.min_face_side
            )
        face = _DetectedFace(image, largest, self._aligner, watch)
        return self._attributes(face, tasks, largest.box, len(found), watch)

    def _attributes(
        self,
        face: _FaceInputs,
        tasks: frozenset[Task],
        box: tuple[float, float, float, float],
        faces_found: int,
        watch: _Stopwatch,
    ) -> FaceAnalysis:
        result: dict[str, object] = {}
        if Task.AGE in tasks:
            chip = face.dlib_chip(CydralAge.CHIP_SIZE)
            with watch.stage("age"):
                probabilities = self._age.probabilities(chip[None])[0]
            result["age"] = float(probabilities @ CydralAge.AGES)
        if Task.GENDER in tasks:
            chip = face.dlib_chip(CydralGender.CHIP_SIZE)
            with watch.stage("gender"):
                result["male_probability"] = float(self._gender.male_probability(chip[None])[0])
        if Task.EXPRESSION in tasks:
            chip = face.expression_chip()
            with watch.stage("expression"):
                probabilities = self._expression.probabilities(chip[None])[0]
            result["expression"] = dict(zip(EXPRESSIONS, probabilities.tolist(), strict=True))
        return FaceAnalysis(
            box=box,
            faces_found=faces_found,
            timings=watch.timings,
            **result,  # type: ignore[arg-type]
        )


class _FaceInputs(ABC):
    """Each model's input cut from one face, each computed at most once per request."""

    def __init__(self, image: NDArray[np.uint8], aligner: FaceAligner, watch: _Stopwatch) -> None:
        self.image = image
        self._aligner = aligner
        self._watch = watch

    @cached_property
    def dlib_shape(self) -> dlib.full_object_detection:
        with self._watch.stage("align"):
            return self._dlib_shape()

    def dlib_chip(self, size: int) -> NDArray[np.uint8]:
        shape = self.dlib_shape
        with self._watch.stage("align"):
            return dlib_face_chip(self.image, shape, size, CHIP_PADDING)

    def expression_chip(self) -> NDArray[np.uint8]:
        with self._watch.stage("align"):
            return self._expression_chip()

    @abstractmethod
    def _dlib_shape(self) -> dlib.full_object_detection: ...

    @abstractmethod
    def _expression_chip(self) -> NDArray[np.uint8]: ...


class _DetectedFace(_FaceInputs):
    def __init__(
        self, image: NDArray[np.uint8], face: Detection, aligner: FaceAligner, watch: _Stopwatch
    ) -> None:
        super().__init__(image, aligner, watch)
        self.face = face

    def _dlib_shape(self) -> dlib.full_object_detection:
        return self._aligner.landmarks(self.image, self.face)

    def _expression_chip(self) -> NDArray[np.uint8]:
        size = FerExpression.CHIP_SIZE
        return _luma(template_chip(self.image, self.face.landmarks, FerExpression.TEMPLATE, size))


class _CroppedFace(_FaceInputs):
    """The whole frame is the face: dlib places landmarks in it, FER crops are used as they are."""

    def _dlib_shape(self) -> dlib.full_object_detection:
        return self._aligner.landmarks_in_frame(self.image)

    def _expression_chip(self) -> NDArray[np.uint8]:
        size = (FerExpression.CHIP_SIZE, FerExpression.CHIP_SIZE)
        grey = Image.fromarray(self.image).convert("L")
        return np.asarray(grey.resize(size, Image.Resampling.BILINEAR))


def _luma(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """ITU-R 601 grey, as Pillow's convert("L") computes it."""
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.clip(rgb.astype(np.float32) @ weights + 0.5, 0, 255).astype(np.uint8)
