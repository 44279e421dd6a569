"""Pydantic models that document the contract in OpenAPI; the routes build the same shapes."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

D = TypeVar("D", bound=BaseModel)

# A whole photo the docs' "Try it out" can send: the head and shoulders of NASA's
# public-domain portrait of Eileen Collins (scikit-image's astronaut()[0:300, 100:400]),
# 128 px, JPEG quality 85.
EXAMPLE_IMAGE = base64.b64encode(
    Path(__file__).with_name("example-portrait.jpg").read_bytes()
).decode()


class AnalyzeRequest(BaseModel):
    image: str = Field(
        min_length=1,
        description="The photo, base64-encoded: JPEG, PNG, WebP, BMP, GIF or TIFF. Standard or "
        "URL-safe alphabet, padding optional, a data:image/...;base64, prefix accepted.",
    )
    api_key: str = Field(
        description="Your developer key, found in your Settings. May instead be sent in the "
        "X-API-Key header."
    )


class AgeData(BaseModel):
    age: int = Field(ge=0, description="Approximate age in years (about +/- 5 years).")


class GenderData(BaseModel):
    gender: Literal["M", "F"] = Field(description='"M" (male) or "F" (female).')
    genderProbability: int = Field(  # noqa: N815 - the spec's spelling
        ge=50, le=100, description="Probability of the returned gender, in percent."
    )


class ExpressionData(BaseModel):
    """Integer percentages that sum to exactly 100."""

    neutral: int
    happy: int
    sad: int
    angry: int
    fearful: int
    disgusted: int
    surprised: int


class Envelope(BaseModel, Generic[D]):
    result: Literal["Ok", "Err"] = Field(description='"Ok", or "Err" on error.')
    code: int = Field(description="0 on success, else a documented error code.")
    message: str = Field(description="On error, what was wrong and what to do.")
    data: D | dict[str, Any] = Field(description="The result; {} on error.")
