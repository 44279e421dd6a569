"""Our ONNX port of face-api.js's nets against face-api.js itself, run in Node.

The Node runner finds the faces (SSD MobileNet v1 + landmarks, as face-api.js users run it);
both sides then run the age/gender and expression nets on the same image and box.
Run with `-s` to see the differences measured on each face.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from skimage.data import astronaut

from faceapi.engine.models.faceapijs import FaceApiJsAgeGender, FaceApiJsExpression, prepare_face
from faceapi.evaluation.peers.faceapijs import (
    RUNNER_DIR,
    FaceApiJsFace,
    FaceApiJsPeer,
    load_rgb,
)

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO / "models" / "npm" / "node_modules" / "@vladmandic" / "face-api" / "model"
DATA_DIR = Path(os.environ.get("FACEAPI_DATA_DIR", REPO.parent / "shared" / "data"))
UTKFACE_IMAGES = 12

# Outputs are float32 from two different kernel libraries (XNNPACK in wasm, MLAS in
# onnxruntime) that sum in different orders. Probabilities agree to ~3e-7; age is a
# regression in years (~20-60), where one float32 step is 2e-6 to 4e-6, and agrees to ~1e-5,
# so 1e-4 years holds for it too with margin.
TOLERANCE = 1e-4

if not (RUNNER_DIR / "node_modules").is_dir():
    pytest.skip(
        "peers/faceapijs/node_modules is missing: npm ci --ignore-scripts --prefix peers/faceapijs",
        allow_module_level=True,
    )
if not MODEL_DIR.is_dir():
    pytest.skip(
        "models/npm/node_modules is missing: npm ci --ignore-scripts --no-audit --no-fund "
        "--prefix models/npm",
        allow_module_level=True,
    )
if shutil.which("node") is None:
    pytest.skip("Node.js is not on PATH", allow_module_level=True)


@pytest.fixture(scope="module")
def peer() -> Iterator[FaceApiJsPeer]:
    with FaceApiJsPeer() as running:
        yield running


@pytest.fixture(scope="module")
def age_gender() -> FaceApiJsAgeGender:
    return FaceApiJsAgeGender(MODEL_DIR)


@pytest.fixture(scope="module")
def expression() -> FaceApiJsExpression:
    return FaceApiJsExpression(MODEL_DIR)


def _images(source: str) -> list[tuple[str, NDArray[np.uint8]]]:
    if source == "astronaut":
        return [("astronaut", astronaut())]
    folder = DATA_DIR / source if source == "photos" else DATA_DIR / source / "images"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent (set FACEAPI_DATA_DIR to the shared data folder)")
    files = sorted(folder.glob("*.jpg"))
    if source == "utkface-dev":
        files = files[:: max(1, len(files) // UTKFACE_IMAGES)][:UTKFACE_IMAGES]
    return [(path.name, load_rgb(path)) for path in files]


def _largest_differences(
    rgb: NDArray[np.uint8],
    box: tuple[float, float, float, float],
    peer: FaceApiJsPeer,
    age_gender: FaceApiJsAgeGender,
    expression: FaceApiJsExpression,
) -> tuple[float, float, float]:
    """|age|, |male probability| and max |expression probability| differences."""
    node = peer.net_outputs(rgb, box)
    face = prepare_face(rgb, box)[np.newaxis]
    age, male = age_gender.run(face)
    probabilities = expression.run(face)[0]
    return (
        abs(float(age[0]) - node.age),
        abs(float(male[0]) - node.male_probability),
        float(np.abs(probabilities - np.array(node.expressions)).max()),
    )


def _male_probability(face: FaceApiJsFace) -> float:
    return face.gender_probability if face.gender == "M" else 1 - face.gender_probability


@pytest.mark.parametrize("source", ["astronaut", "photos", "utkface-dev"])
def test_port_matches_node_on_detected_faces(
    source: str,
    peer: FaceApiJsPeer,
    age_gender: FaceApiJsAgeGender,
    expression: FaceApiJsExpression,
) -> None:
    detected = 0
    for name, rgb in _images(source):
        height, width = rgb.shape[:2]
        # The whole frame is the box `crop` mode uses, e.g. for UTKFace's tight crops, where
        # the SSD detector often finds nothing.
        boxes = [("whole-frame", (0.0, 0.0, float(width), float(height)))]
        found = peer.pipeline(rgb)
        if found is not None:
            # The landmark-aligned box is what face-api.js's pipeline feeds the nets; the raw
            # detector box is closer to what another detector gives.
            boxes += [("aligned", found.aligned_box), ("detector", found.box)]
            detected += 1
        for kind, box in boxes:
            differences = _largest_differences(rgb, box, peer, age_gender, expression)
            print(f"{source}/{name} {kind} box: |d age|, |d male|, |d expr| = {differences}")
            assert max(differences) <= TOLERANCE, (name, kind, box, differences)
    assert detected > 0, f"face-api.js found no face in {source}"


def test_nets_request_is_what_the_pipeline_computes(peer: FaceApiJsPeer) -> None:
    rgb = astronaut()
    found = peer.pipeline(rgb)
    assert found is not None
    node = peer.net_outputs(rgb, found.aligned_box)
    assert node.age == pytest.approx(found.age, abs=1e-6)
    assert node.male_probability == pytest.approx(_male_probability(found), abs=1e-6)
    assert node.expressions == pytest.approx(tuple(found.expression.values()), abs=1e-6)


def test_port_matches_node_on_whole_frame_crop(
    peer: FaceApiJsPeer, age_gender: FaceApiJsAgeGender, expression: FaceApiJsExpression
) -> None:
    rgb = astronaut()[40:300, 120:330]  # not square: exercises the padding
    found = peer.pipeline(rgb, crop=True)
    assert found is not None
    face = prepare_face(rgb, (0, 0, rgb.shape[1], rgb.shape[0]))[np.newaxis]
    age, male = age_gender.run(face)
    assert float(age[0]) == pytest.approx(found.age, abs=TOLERANCE)
    assert float(male[0]) == pytest.approx(_male_probability(found), abs=TOLERANCE)
    probabilities = expression.run(face)[0]
    assert probabilities == pytest.approx(list(found.expression.values()), abs=TOLERANCE)


def test_peer_sees_an_adult_woman_in_astronaut(peer: FaceApiJsPeer, tmp_path: Path) -> None:
    image = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(image)
    face = peer.analyze(image)
    assert face is not None
    assert face.age is not None
    assert 20 <= face.age <= 60
    assert face.gender == "F"
    assert face.gender_probability is not None
    assert 0.5 <= face.gender_probability <= 1
    assert face.expression is not None
    assert set(face.expression) == set(FaceApiJsExpression.LABELS)
    assert sum(face.expression.values()) == pytest.approx(1, abs=1e-4)
