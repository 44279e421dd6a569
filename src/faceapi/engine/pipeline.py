"""The engine: image bytes in, analysis of the largest face out, with the time each stage took."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from faceapi.engine.align import FaceAligner
from faceapi.engine.decode import ImageLimits, decode_image
from faceapi.engine.detect import DetectorOptions, FaceDetector
from faceapi.engine.estimators import (
    AGE_GENDER_ESTIMATORS,
    EXPRESSION_ESTIMATORS,
    AgeGender,
    AgeGenderEstimator,
    Estimator,
    ExpressionEstimator,
)
from faceapi.engine.faces import CroppedFace, DetectedFace, FaceInputs, Stopwatch
from faceapi.engine.manifest import ModelStore
from faceapi.engine.models.expression import EXPRESSIONS
from faceapi.engine.models.retinaface import RetinaFace
from faceapi.engine.upright import upright_face
from faceapi.errors import ErrorCode, FaceApiError


class Task(StrEnum):
    AGE = "age"
    GENDER = "gender"
    EXPRESSION = "expression"


# ONNX Runtime threads per inference: one, since the server bounds how many run at once.
ONNX_THREADS = 1


@dataclass(frozen=True, slots=True)
class EngineOptions:
    limits: ImageLimits = field(default_factory=ImageLimits)
    detector: DetectorOptions = field(default_factory=DetectorOptions)
    min_face_side: int = 20
    # Model families averaged for each task (see engine/estimators.py and docs/accuracy.md).
    age_models: tuple[str, ...] = ("faceapijs",)
    gender_models: tuple[str, ...] = ("faceapijs",)
    expression_models: tuple[str, ...] = ("fer", "xception")


@dataclass(frozen=True, slots=True)
class FaceAnalysis:
    """What the engine found; attributes of tasks that were not asked for stay None."""

    faces_found: int
    age: float | None = None
    male_probability: float | None = None
    expression: dict[str, float] | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


@dataclass(frozen=True, slots=True)
class ChosenFamilies:
    """The estimator classes `EngineOptions` choose for each task: what the engine loads and
    what `Engine.verify_models` checks, decided in one place."""

    age: tuple[type[AgeGenderEstimator], ...]
    gender: tuple[type[AgeGenderEstimator], ...]
    expression: tuple[type[ExpressionEstimator], ...]

    @classmethod
    def of(cls, options: EngineOptions) -> ChosenFamilies:
        def chosen(names: tuple[str, ...], registry: dict[str, Any], kind: str) -> tuple:
            unknown = sorted(set(names) - set(registry))
            if unknown:
                raise ValueError(
                    f"unknown {kind} model {unknown[0]!r}; choose from {sorted(registry)}"
                )
            return tuple(registry[name] for name in names)

        return cls(
            age=chosen(options.age_models, AGE_GENDER_ESTIMATORS, "age/gender"),
            gender=chosen(options.gender_models, AGE_GENDER_ESTIMATORS, "age/gender"),
            expression=chosen(options.expression_models, EXPRESSION_ESTIMATORS, "expression"),
        )

    @property
    def all(self) -> list[type[Estimator]]:
        """Each class once, in order: a family serving two tasks is loaded once."""
        return list(dict.fromkeys([*self.age, *self.gender, *self.expression]))

    @property
    def manifest_ids(self) -> set[str]:
        """Every model these need, the detector and the aligner included."""
        needed = {RetinaFace.MANIFEST_ID, FaceAligner.MANIFEST_ID}
        return needed.union(*(estimator.PREPROCESSING for estimator in self.all))


class Engine:
    """All models, loaded once; `analyze` is thread-safe (ONNX Runtime and dlib are)."""

    def __init__(self, store: ModelStore, options: EngineOptions) -> None:
        self.options = options
        self.store = store
        self._detector = FaceDetector(
            RetinaFace(store.read(RetinaFace.MANIFEST_ID), threads=ONNX_THREADS), options.detector
        )
        (predictor,) = store.verified_paths(FaceAligner.MANIFEST_ID)
        self._aligner = FaceAligner(predictor)
        chosen = ChosenFamilies.of(options)
        loaded = {family: family(store, ONNX_THREADS) for family in chosen.all}
        self._estimators = list(loaded.values())
        self._age: list[AgeGenderEstimator] = [loaded[family] for family in chosen.age]
        self._gender: list[AgeGenderEstimator] = [loaded[family] for family in chosen.gender]
        self._expression: list[ExpressionEstimator] = [
            loaded[family] for family in chosen.expression
        ]

    @classmethod
    def load(cls, npm_root: Path, options: EngineOptions | None = None) -> Engine:
        return cls(ModelStore.from_manifest(npm_root), options or EngineOptions())

    @staticmethod
    def verify_models(npm_root: Path, options: EngineOptions) -> None:
        """Check the files of every model `options` would load, without loading any; raise
        ModelUnavailableError as loading would."""
        ModelStore.from_manifest(npm_root).verify(ChosenFamilies.of(options).manifest_ids)

    def configured(self, options: EngineOptions) -> Engine:
        """This engine under other limits and thresholds, sharing the loaded models.

        Only a different choice of model families needs models loaded afresh.
        """
        families = ("age_models", "gender_models", "expression_models")
        if any(getattr(options, name) != getattr(self.options, name) for name in families):
            return Engine(self.store, options)
        engine = copy.copy(self)
        engine.options = options
        engine._detector = FaceDetector(self._detector.model, options.detector)
        return engine

    def describe_models(self) -> list[dict[str, Any]]:
        """Each model in use: its manifest entry and how its input is prepared."""
        preprocessing = {RetinaFace.MANIFEST_ID: RetinaFace.PREPROCESSING}
        for estimator in self._estimators:
            preprocessing |= estimator.PREPROCESSING
        return [
            self.store.source(model_id).describe() | {"preprocessing": text}
            for model_id, text in preprocessing.items()
        ]

    def analyze(self, data: bytes, tasks: frozenset[Task], *, crop: bool = False) -> FaceAnalysis:
        """Decode `data` and analyse its largest face.

        With `crop`, the image is already a tight face crop (as in FER2013): detection is
        skipped and the whole frame is the face, but each model still gets its own input.
        """
        watch = Stopwatch()
        with watch.stage("decode"):
            decoded = decode_image(data, self.options.limits)
        if crop:
            face = CroppedFace(decoded.pixels, self._aligner, watch)
            return self._attributes(face, tasks, 1)
        with watch.stage("detect"):
            found = upright_face(self._detector, decoded.pixels)
        if found is None:
            raise FaceApiError(ErrorCode.NO_FACE_FOUND)
        side = round(min(found.face.width, found.face.height) / decoded.scale)  # file's pixels
        if side < self.options.min_face_side:
            raise FaceApiError(
                ErrorCode.FACE_TOO_SMALL, size=side, minimum=self.options.min_face_side
            )
        face = DetectedFace(found.image, found.face, self._aligner, watch)
        return self._attributes(face, tasks, found.faces_found)

    def _attributes(
        self, face: FaceInputs, tasks: frozenset[Task], faces_found: int
    ) -> FaceAnalysis:
        # A family serving both age and gender runs once for both.
        estimates: dict[AgeGenderEstimator, AgeGender] = {}
        for estimator in dict.fromkeys([*self._age, *self._gender]):
            age = Task.AGE in tasks and estimator in self._age
            gender = Task.GENDER in tasks and estimator in self._gender
            if age or gender:
                estimates[estimator] = estimator.estimate(face, age=age, gender=gender)
        result: dict[str, Any] = {}
        if Task.AGE in tasks:
            # face-api.js regresses the age without bounds: a baby can come out at -0.6.
            result["age"] = max(0.0, float(np.mean([estimates[e].age for e in self._age])))
        if Task.GENDER in tasks:
            male = [estimates[e].male_probability for e in self._gender]
            result["male_probability"] = float(np.mean(male))
        if Task.EXPRESSION in tasks:
            scores = np.mean([e.probabilities(face) for e in self._expression], axis=0)
            result["expression"] = dict(zip(EXPRESSIONS, scores.tolist(), strict=True))
        return FaceAnalysis(faces_found=faces_found, timings=face.watch.timings, **result)
