"""face-api.js, run as shipped in Node (peers/faceapijs/run.mjs), as an evaluation peer."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from faceapi.engine.models.faceapijs import FaceApiJsExpression
from faceapi.evaluation.peers.base import PeerFace

# src/faceapi/evaluation/peers/faceapijs.py -> the repository root.
RUNNER_DIR = Path(__file__).resolve().parents[4] / "peers" / "faceapijs"
INSTALL_COMMAND = "npm ci --ignore-scripts --prefix peers/faceapijs"
EXPRESSION_LABELS = FaceApiJsExpression.LABELS  # face-api.js's FACE_EXPRESSION_LABELS
_GENDERS = {"male": "M", "female": "F"}

Box = tuple[float, float, float, float]


class FaceApiJsError(RuntimeError):
    """The Node runner is missing, died, or answered a request with an error."""


@dataclass(frozen=True, slots=True)
class FaceApiJsFace:
    """face-api.js's answer for the largest face, boxes as (x, y, width, height) in pixels.

    `aligned_box` is what the age/gender and expression nets were given: the 68 landmarks'
    bounding box grown by 10% of its width and height on each side.
    """

    box: Box
    score: float | None
    aligned_box: Box
    age: float
    gender: str  # "M" or "F"
    gender_probability: float
    expression: dict[str, float]

    def as_peer_face(self) -> PeerFace:
        return PeerFace(
            age=self.age,
            gender=self.gender,
            gender_probability=self.gender_probability,
            expression=self.expression,
        )


@dataclass(frozen=True, slots=True)
class FaceApiJsNetOutputs:
    """Raw outputs of ageGenderNet and faceExpressionNet for one face box."""

    age: float
    male_probability: float
    expressions: tuple[float, ...]  # in EXPRESSION_LABELS order


def load_rgb(image: Path) -> NDArray[np.uint8]:
    """Decode an image file to HxWx3 uint8 RGB, upright according to its EXIF orientation."""
    with Image.open(image) as opened:
        return np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))


class FaceApiJsPeer:
    """face-api.js 1.7.15 on tfjs-backend-wasm, in one long-lived Node process."""

    name = "face-api.js"

    def __init__(self, runner_dir: Path = RUNNER_DIR, *, node: str = "node") -> None:
        node_path = shutil.which(node)
        if node_path is None:
            raise FaceApiJsError(f"{node!r} is not on PATH; face-api.js needs Node.js 18 or newer")
        if not (runner_dir / "node_modules").is_dir():
            raise FaceApiJsError(
                f"{runner_dir / 'node_modules'} is missing; install it with `{INSTALL_COMMAND}`"
            )
        # Kept for the process's life and read back only to explain a crash.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [node_path, str(runner_dir / "run.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._ids = itertools.count(1)
        self.versions: dict[str, str] = self._read()["versions"]

    def analyze(self, image: Path, *, crop: bool = False) -> PeerFace | None:
        """The largest face in `image` as face-api.js sees it; None when it finds no face."""
        face = self.pipeline(load_rgb(image), crop=crop)
        return None if face is None else face.as_peer_face()

    def pipeline(self, rgb: NDArray[np.uint8], *, crop: bool = False) -> FaceApiJsFace | None:
        """SSD MobileNet v1, landmarks, expressions, age and gender on HxWx3 RGB pixels.

        With `crop`, no detection: the whole frame is the face.
        """
        face = self._ask("pipeline", rgb, crop=crop)["face"]
        if face is None:
            return None
        return FaceApiJsFace(
            box=tuple(face["box"]),
            score=face["score"],
            aligned_box=tuple(face["aligned_box"]),
            age=face["age"],
            gender=_GENDERS[face["gender"]],
            gender_probability=face["genderProbability"],
            expression={label: face["expressions"][label] for label in EXPRESSION_LABELS},
        )

    def net_outputs(self, rgb: NDArray[np.uint8], box: Box) -> FaceApiJsNetOutputs:
        """Run both nets on `box` cut out of `rgb` exactly as face-api.js does after detection."""
        answer = self._ask("nets", rgb, box=list(box))
        return FaceApiJsNetOutputs(
            age=answer["age"],
            male_probability=answer["male_probability"],
            expressions=tuple(answer["expressions"]),
        )

    def close(self) -> None:
        """End the Node process: closing stdin ends its request loop."""
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> FaceApiJsPeer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _ask(self, kind: str, rgb: NDArray[np.uint8], **fields: Any) -> dict[str, Any]:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
        request_id = next(self._ids)
        pixels = base64.b64encode(np.ascontiguousarray(rgb).tobytes()).decode("ascii")
        height, width = rgb.shape[:2]
        request = {"id": request_id, "kind": kind, "width": width, "height": height}
        self._write({**request, "rgb": pixels, **fields})
        answer = self._read()
        if answer.get("id") != request_id:
            raise FaceApiJsError(f"answer to request {answer.get('id')}, expected {request_id}")
        if not answer["ok"]:
            raise FaceApiJsError(f"face-api.js failed on {kind}: {answer['error']}")
        return answer

    def _write(self, request: dict[str, Any]) -> None:
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except BrokenPipeError as error:
            raise FaceApiJsError(f"face-api.js runner exited: {self._stderr_text()}") from error

    def _read(self) -> dict[str, Any]:
        line = self._process.stdout.readline()
        if not line:
            raise FaceApiJsError(f"face-api.js runner exited: {self._stderr_text()}")
        return json.loads(line)

    def _stderr_text(self) -> str:
        self._process.wait(timeout=10)
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()[-2000:]
