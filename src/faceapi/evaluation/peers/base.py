"""The small interface every peer implements, so the evaluator can run any of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PeerFace:
    """What a peer says about the largest face it found; None where it has no such output."""

    age: float | None = None
    gender: str | None = None  # "M" or "F"
    gender_probability: float | None = None  # 0..1, probability of the returned gender
    expression: dict[str, float] | None = None  # API labels -> probability, summing to ~1


class Peer(Protocol):
    """A peer system, exactly as shipped: its own detector, its own preprocessing."""

    name: str

    def analyze(self, image: Path, *, crop: bool = False) -> PeerFace | None:
        """Analyse the largest face in `image`; None when no face is found.

        With `crop`, the image is already a tight face crop: skip detection and use the
        whole frame as the face box.
        """
        ...

    def close(self) -> None:
        """Release processes or sessions the peer holds."""
        ...
