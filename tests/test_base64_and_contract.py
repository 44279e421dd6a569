"""The "image" field's base64 spellings, and the spec's data shapes and rounding."""

from __future__ import annotations

import base64
import random
from typing import get_args

import numpy as np
import pytest

from faceapi.api.base64_image import decode_base64_image
from faceapi.api.contract import (
    ENDPOINTS,
    age_data,
    expression_data,
    gender_data,
    whole_percentages,
)
from faceapi.api.schemas import ExpressionData
from faceapi.engine.decode import SUPPORTED_FORMATS
from faceapi.engine.estimators import AGE_GENDER_ESTIMATORS, EXPRESSION_ESTIMATORS, AgeGender
from faceapi.engine.models.expression import EXPRESSIONS
from faceapi.engine.pipeline import Engine, FaceAnalysis, Task
from faceapi.errors import ErrorCode, FaceApiError
from faceapi.settings import Settings
from tests.conftest import encode

PAYLOAD = bytes(range(256)) * 3 + b"\xfb\xff"  # exercises '+', '/' and padding


def spellings() -> list[str]:
    standard = base64.b64encode(PAYLOAD).decode()
    url_safe = base64.urlsafe_b64encode(PAYLOAD).decode()
    wrapped = "\n".join(standard[i : i + 76] for i in range(0, len(standard), 76))
    return [
        standard,
        url_safe,
        standard.rstrip("="),
        url_safe.rstrip("="),
        "data:image/jpeg;base64," + standard,
        "DATA:image/png;charset=utf-8;base64," + url_safe,
        wrapped + "\r\n",
        "  " + standard + "  ",
    ]


@pytest.mark.parametrize("text", spellings())
def test_every_spelling_gives_the_same_bytes(text: str) -> None:
    assert decode_base64_image(text) == PAYLOAD


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", ErrorCode.EMPTY_IMAGE),
        ("   \n ", ErrorCode.EMPTY_IMAGE),
        ("data:image/jpeg;base64,", ErrorCode.EMPTY_IMAGE),
        ("====", ErrorCode.EMPTY_IMAGE),
        ("not base64 at all!", ErrorCode.INVALID_BASE64),
        ("abcde", ErrorCode.INVALID_BASE64),
        ("ab$d", ErrorCode.INVALID_BASE64),
    ],
)
def test_bad_base64_is_named(text: str, code: ErrorCode) -> None:
    with pytest.raises(FaceApiError) as caught:
        decode_base64_image(text)
    assert caught.value.code is code


def test_percentages_always_sum_to_100() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        raw = [rng.random() ** rng.choice([1, 4, 12]) for _ in EXPRESSIONS]
        percentages = whole_percentages(dict(zip(EXPRESSIONS, raw, strict=True)))
        assert sum(percentages.values()) == 100
        assert all(isinstance(value, int) and 0 <= value <= 100 for value in percentages.values())
        exact = np.array(raw) / sum(raw) * 100
        assert np.abs(np.array(list(percentages.values())) - exact).max() < 1


def test_largest_remainder_rounding() -> None:
    thirds = whole_percentages({"a": 1, "b": 1, "c": 1})
    assert sorted(thirds.values()) == [33, 33, 34]
    assert whole_percentages({"a": 0.666, "b": 0.334}) == {"a": 67, "b": 33}


def analysis(**fields: object) -> FaceAnalysis:
    return FaceAnalysis(faces_found=1, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("male_probability", "expected"),
    [
        (0.9, {"gender": "M", "genderProbability": 90}),
        (0.2, {"gender": "F", "genderProbability": 80}),
        (0.5, {"gender": "M", "genderProbability": 50}),
        (0.004, {"gender": "F", "genderProbability": 100}),
    ],
)
def test_gender_probability_is_that_of_the_returned_gender(
    male_probability: float, expected: dict
) -> None:
    assert gender_data(analysis(male_probability=male_probability)) == expected


def test_expression_data_has_exactly_the_seven_keys_in_order() -> None:
    scores = dict(zip(EXPRESSIONS, [0.1, 0.5, 0.1, 0.1, 0.1, 0.05, 0.05], strict=True))
    data = expression_data(analysis(expression=scores))
    assert list(data) == [
        "neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"
    ]  # fmt: skip
    assert sum(data.values()) == 100


def test_facts_written_in_two_places_agree() -> None:
    """The spec's names are spelled out where clients read them; these are their twins."""
    assert list(ExpressionData.model_fields) == list(EXPRESSIONS)
    for endpoint in ENDPOINTS:
        assert f"/faceapi/v1/{endpoint.name}" == endpoint.path
        assert endpoint.path in ErrorCode.NOT_FOUND.message
    assert ErrorCode.NOT_FOUND.message.count("/faceapi/v1/") == len(ENDPOINTS)
    for shown in set(SUPPORTED_FORMATS.values()):
        assert shown in ErrorCode.UNSUPPORTED_IMAGE_FORMAT.message
    for setting, registry in [
        ("age_models", AGE_GENDER_ESTIMATORS),
        ("gender_models", AGE_GENDER_ESTIMATORS),
        ("expression_models", EXPRESSION_ESTIMATORS),
    ]:
        (family,) = get_args(Settings.model_fields[setting].annotation)  # list[Literal[...]]
        assert set(get_args(family)) == set(registry)


def test_an_age_is_never_negative(
    engine: Engine, astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """face-api.js's age is a regression: a UTKFace one-year-old, contrast raised, read -0.63."""
    family = AGE_GENDER_ESTIMATORS[engine.options.age_models[0]]
    monkeypatch.setattr(family, "estimate", lambda *_, **__: AgeGender(age=-0.63))
    analysis = engine.analyze(encode(astronaut), frozenset({Task.AGE}))
    assert analysis.age == 0.0
    assert age_data(analysis) == {"age": 0}
