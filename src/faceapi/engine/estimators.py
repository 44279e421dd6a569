"""Each model family as the engine runs it: the crop it was trained on, test-time augmentation
(each choice measured with `faceapi eval`; see docs/accuracy.md), and its estimate.

The engine averages the estimates of the families chosen for each task (settings
`age_models`, `gender_models`, `expression_models`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from faceapi.engine.align import FaceAligner
from faceapi.engine.faces import FaceInputs
from faceapi.engine.manifest import ModelStore
from faceapi.engine.models.cydral import CHIP_PADDING, CydralAge, CydralGender
from faceapi.engine.models.expression import EXPRESSIONS, FerExpression
from faceapi.engine.models.faceapijs import FaceApiJsAgeGender, FaceApiJsExpression, prepare_face
from faceapi.engine.models.mini_xception import MiniXceptionEmotion


@dataclass(frozen=True, slots=True)
class AgeGender:
    age: float | None = None
    male_probability: float | None = None


class Estimator(ABC):
    """A model family: its name in settings, and its manifest entries with their preprocessing."""

    NAME: ClassVar[str]
    PREPROCESSING: ClassVar[dict[str, str]]  # manifest id -> how its input is prepared

    @abstractmethod
    def __init__(self, store: ModelStore, threads: int) -> None: ...


class AgeGenderEstimator(Estimator):
    @abstractmethod
    def estimate(self, face: FaceInputs, *, age: bool, gender: bool) -> AgeGender: ...


class ExpressionEstimator(Estimator):
    @abstractmethod
    def probabilities(self, face: FaceInputs) -> NDArray[np.float32]:
        """Seven probabilities in EXPRESSIONS order."""


def _with_mirror(batch: NDArray) -> NDArray:
    """The batch followed by its left-right mirror images (axis 2 is image width)."""
    return np.concatenate([batch, batch[:, :, ::-1]])


class CydralEstimator(AgeGenderEstimator):
    """Cydral's networks on dlib's exact chip and its mirror image.

    Only the mirror is added: Cydral was trained on one chip geometry, and chips scaled by
    0.9-1.25 made it worse on every age band (measured on utkface-dev).
    """

    NAME = "cydral"
    PREPROCESSING: ClassVar[dict[str, str]] = {
        FaceAligner.MANIFEST_ID: FaceAligner.PREPROCESSING,
        CydralAge.MANIFEST_ID: CydralAge.PREPROCESSING + "; mean of the chip and its mirror",
        CydralGender.MANIFEST_ID: CydralGender.PREPROCESSING + "; mean of the chip and its mirror",
    }

    def __init__(self, store: ModelStore, threads: int) -> None:
        self._age = CydralAge(store.read(CydralAge.MANIFEST_ID), threads=threads)
        self._gender = CydralGender(store.read(CydralGender.MANIFEST_ID), threads=threads)

    def estimate(self, face: FaceInputs, *, age: bool, gender: bool) -> AgeGender:
        result = AgeGender()
        if age:
            chips = _with_mirror(face.dlib_chip(CydralAge.CHIP_SIZE, CHIP_PADDING)[None])
            with face.watch.stage(CydralAge.MANIFEST_ID):
                probabilities = self._age.probabilities(chips).mean(axis=0)
            result = AgeGender(age=float(probabilities @ CydralAge.AGES))
        if gender:
            chips = _with_mirror(face.dlib_chip(CydralGender.CHIP_SIZE, CHIP_PADDING)[None])
            with face.watch.stage(CydralGender.MANIFEST_ID):
                male = float(self._gender.male_probability(chips).mean())
            result = AgeGender(result.age, male)
        return result


# face-api.js's nets were trained on its "aligned box" (68-landmark bounds plus 10% a side);
# from RetinaFace's box that is 1.223 x wider, 0.883 x as tall, 2.5% left and 9.1% lower
# (training/alignment/faceapijs_box.py, on photos we may fit on). Averaging over this box
# and two larger ones, each with its mirror, gave lower error on every age band.
FACEAPIJS_BOX = (1.223, 0.883, -0.025, 0.091)
FACEAPIJS_SCALES = (1.0, 1.1, 1.25)
_FACEAPIJS_PREPROCESSING = (
    "box from RetinaFace's: {0} x width, {1} x height, shifted {2} / {3} of its size; "
    "also at {scales} x that size; each padded to a square, 112 x 112 RGB, and mirrored; "
    "mean over the {count} inputs"
).format(*FACEAPIJS_BOX, scales=FACEAPIJS_SCALES[1:], count=2 * len(FACEAPIJS_SCALES))


def _faceapijs_inputs(face: FaceInputs) -> NDArray[np.float32]:
    """Both face-api.js nets take the same inputs: cut them once per face."""
    return face.memo("faceapijs", lambda: _cut_faceapijs_inputs(face))


def _cut_faceapijs_inputs(face: FaceInputs) -> NDArray[np.float32]:
    width_scale, height_scale, shift_x, shift_y = FACEAPIJS_BOX
    with face.watch.stage("align"):
        crops = [
            prepare_face(face.image, face.box(width_scale * s, height_scale * s, shift_x, shift_y))
            for s in FACEAPIJS_SCALES
        ]
        return _with_mirror(np.stack(crops))


class FaceApiJsAgeGenderEstimator(AgeGenderEstimator):
    NAME = "faceapijs"
    MANIFEST_ID = "faceapijs-age-gender"
    PREPROCESSING: ClassVar[dict[str, str]] = {MANIFEST_ID: _FACEAPIJS_PREPROCESSING}

    def __init__(self, store: ModelStore, threads: int) -> None:
        model_dir = store.verified_folder(self.MANIFEST_ID, FaceApiJsAgeGender.WEIGHT_FILES)
        self._net = FaceApiJsAgeGender(model_dir, threads=threads)

    def estimate(self, face: FaceInputs, *, age: bool, gender: bool) -> AgeGender:
        inputs = _faceapijs_inputs(face)
        with face.watch.stage(self.MANIFEST_ID):
            ages, male = self._net.run(inputs)
        return AgeGender(
            age=float(ages.mean()) if age else None,
            male_probability=float(male.mean()) if gender else None,
        )


class FaceApiJsExpressionEstimator(ExpressionEstimator):
    NAME = "faceapijs"
    MANIFEST_ID = "faceapijs-expression"
    PREPROCESSING: ClassVar[dict[str, str]] = {MANIFEST_ID: _FACEAPIJS_PREPROCESSING}

    def __init__(self, store: ModelStore, threads: int) -> None:
        model_dir = store.verified_folder(self.MANIFEST_ID, FaceApiJsExpression.WEIGHT_FILES)
        self._net = FaceApiJsExpression(model_dir, threads=threads)
        assert FaceApiJsExpression.LABELS == EXPRESSIONS

    def probabilities(self, face: FaceInputs) -> NDArray[np.float32]:
        inputs = _faceapijs_inputs(face)
        with face.watch.stage(self.MANIFEST_ID):
            return self._net.run(inputs).mean(axis=0)


class FerEstimator(ExpressionEstimator):
    """Our FER2013-trained network on a chip framed like FER2013's faces.

    The exported graph already averages the chip with its mirror, so one chip goes in.
    """

    NAME = "fer"
    PREPROCESSING: ClassVar[dict[str, str]] = {
        FerExpression.MANIFEST_ID: FerExpression.PREPROCESSING
        + "; the graph averages the chip and its mirror"
    }

    def __init__(self, store: ModelStore, threads: int) -> None:
        self._net = FerExpression(store.read(FerExpression.MANIFEST_ID), threads=threads)

    def probabilities(self, face: FaceInputs) -> NDArray[np.float32]:
        chip = face.grey_chip(FerExpression.TEMPLATE, FerExpression.CHIP_SIZE)
        with face.watch.stage(FerExpression.MANIFEST_ID):
            return self._net.probabilities(chip[None])[0]


class XceptionEstimator(ExpressionEstimator):
    """oarriaga's FER2013 Xception (as shipped in @vladmandic/human) on a FER-framed chip.

    It was trained on the same FER2013 frames as our network, so the same five-point
    template frames its input, scaled to its 64-pixel input.
    """

    NAME = "xception"
    TEMPLATE = FerExpression.TEMPLATE * (MiniXceptionEmotion.CHIP_SIZE / FerExpression.CHIP_SIZE)
    PREPROCESSING: ClassVar[dict[str, str]] = {
        MiniXceptionEmotion.MANIFEST_ID: "similarity-aligned to the FER2013 5-point template; "
        + MiniXceptionEmotion.PREPROCESSING
        + "; mean of the chip and its mirror"
    }

    def __init__(self, store: ModelStore, threads: int) -> None:
        model_dir = store.verified_folder(
            MiniXceptionEmotion.MANIFEST_ID, MiniXceptionEmotion.FILES
        )
        self._net = MiniXceptionEmotion(model_dir, threads=threads)

    def probabilities(self, face: FaceInputs) -> NDArray[np.float32]:
        chip = face.grey_chip(self.TEMPLATE, MiniXceptionEmotion.CHIP_SIZE)
        with face.watch.stage(MiniXceptionEmotion.MANIFEST_ID):
            return self._net.probabilities(_with_mirror(chip[None])).mean(axis=0)


AGE_GENDER_ESTIMATORS: dict[str, type[AgeGenderEstimator]] = {
    CydralEstimator.NAME: CydralEstimator,
    FaceApiJsAgeGenderEstimator.NAME: FaceApiJsAgeGenderEstimator,
}
EXPRESSION_ESTIMATORS: dict[str, type[ExpressionEstimator]] = {
    FerEstimator.NAME: FerEstimator,
    FaceApiJsExpressionEstimator.NAME: FaceApiJsExpressionEstimator,
    XceptionEstimator.NAME: XceptionEstimator,
}
