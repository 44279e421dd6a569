"""The engine: image bytes in, analysis of the largest face out, with the time each stage took."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

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

    face: Detection
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

    def analyze(self, data: bytes, tasks: frozenset[Task]) -> FaceAnalysis:
        """Decode `data` and analyse the largest face in it."""
        watch = _Stopwatch()
        with watch.stage("decode"):
            image = decode_image(data, self.options.limits)
        return self._analyze(image, tasks, watch)

    def analyze_image(self, image: NDArray[np.uint8], tasks: frozenset[Task]) -> FaceAnalysis:
        """Analyse an already decoded RGB image (the evaluator's entry point)."""
        return self._analyze(image, tasks, _Stopwatch())

    def _analyze(
        self, image: NDArray[np.uint8], tasks: frozenset[Task], watch: _Stopwatch
    ) -> FaceAnalysis:
        with watch.stage("detect"):
            faces = self._detector.detect(image)
        if not faces:
            raise FaceApiError(ErrorCode.NO_FACE_FOUND)
        face = faces[0]
        side = round(min(face.width, face.height))
        if side < self.options.min_face_side:
            raise FaceApiError(
                ErrorCode.FACE_TOO_SMALL, size=side, minimum=self.options.min_face_side
            )
        result: dict[str, object] = {}
        if Task.AGE in tasks or Task.GENDER in tasks:
            with watch.stage("align"):
                shape = self._aligner.landmarks(image, face)
        if Task.AGE in tasks:
            with watch.stage("age"):
                chip = dlib_face_chip(image, shape, CydralAge.CHIP_SIZE, CHIP_PADDING)
                probabilities = self._age.probabilities(chip[None])[0]
                result["age"] = float(probabilities @ CydralAge.AGES)
        if Task.GENDER in tasks:
            with watch.stage("gender"):
                chip = dlib_face_chip(image, shape, CydralGender.CHIP_SIZE, CHIP_PADDING)
                result["male_probability"] = float(self._gender.male_probability(chip[None])[0])
        if Task.EXPRESSION in tasks:
            with watch.stage("expression"):
                result["expression"] = self._expression_of(image, face)
        return FaceAnalysis(
            face=face,
            faces_found=len(faces),
            timings=watch.timings,
            **result,  # type: ignore[arg-type]
        )

    def _expression_of(self, image: NDArray[np.uint8], face: Detection) -> dict[str, float]:
        chip = template_chip(image, face.landmarks, FerExpression.TEMPLATE, FerExpression.CHIP_SIZE)
        probabilities = self._expression.probabilities(_luma(chip)[None])[0]
        return dict(zip(EXPRESSIONS, probabilities.tolist(), strict=True))


def _luma(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """ITU-R 601 grey, as Pillow's convert("L") computes it."""
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.clip(rgb.astype(np.float32) @ weights + 0.5, 0, 255).astype(np.uint8)
