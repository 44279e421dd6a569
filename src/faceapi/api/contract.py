"""The v1 contract: each endpoint's path, task and `data` shape, exactly as the spec words them.

The CLI's `analyze` prints through these same functions, so it shows what the API would send.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from faceapi.api.schemas import AgeData, ExpressionData, GenderData
from faceapi.engine.pipeline import EXPRESSIONS, FaceAnalysis, Task

API_PREFIX = "/faceapi/v1"


def age_data(analysis: FaceAnalysis) -> dict[str, Any]:
    assert analysis.age is not None
    return {"age": round(analysis.age)}


def gender_data(analysis: FaceAnalysis) -> dict[str, Any]:
    assert analysis.male_probability is not None
    male = analysis.male_probability >= 0.5
    probability = analysis.male_probability if male else 1 - analysis.male_probability
    return {"gender": "M" if male else "F", "genderProbability": round(100 * probability)}


def expression_data(analysis: FaceAnalysis) -> dict[str, Any]:
    assert analysis.expression is not None
    return whole_percentages({label: analysis.expression[label] for label in EXPRESSIONS})


def whole_percentages(probabilities: dict[str, float]) -> dict[str, int]:
    """Integer percentages summing to exactly 100 (largest-remainder rounding)."""
    total = sum(probabilities.values()) or 1.0
    exact = {label: 100 * value / total for label, value in probabilities.items()}
    floors = {label: math.floor(value) for label, value in exact.items()}
    by_remainder = sorted(exact, key=lambda label: exact[label] - floors[label], reverse=True)
    for label in by_remainder[: 100 - sum(floors.values())]:
        floors[label] += 1
    return floors


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    task: Task
    data: Callable[[FaceAnalysis], dict[str, Any]]
    model: type[BaseModel]
    summary: str
    example: dict[str, Any]  # `data` for the docs' example photo, as the tests check

    @property
    def path(self) -> str:
        return f"{API_PREFIX}/{self.name}"


ENDPOINTS = (
    Endpoint(
        "face_age_detection",
        Task.AGE,
        age_data,
        AgeData,
        "Estimate the age of the largest face",
        {"age": 30},
    ),
    Endpoint(
        "face_gender_detection",
        Task.GENDER,
        gender_data,
        GenderData,
        "Tell the gender of the largest face",
        {"gender": "F", "genderProbability": 61},
    ),
    Endpoint(
        "face_expression_detection",
        Task.EXPRESSION,
        expression_data,
        ExpressionData,
        "Score the facial expression of the largest face",
        {
            "neutral": 2,
            "happy": 90,
            "sad": 1,
            "angry": 1,
            "fearful": 1,
            "disgusted": 3,
            "surprised": 2,
        },
    ),
)
