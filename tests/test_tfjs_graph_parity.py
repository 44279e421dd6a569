"""Our ONNX conversion of tfjs graph models against tfjs itself, run in Node (wasm backend).

Human's emotion model sees real faces: skimage's astronaut and camera portraits cropped to the
face, and FER2013 val frames when the shared data is there, each cut as the engine cuts a
tight crop. Two small synthetic graphs cover what that model does not: odd-sized SAME padding,
depthwise multipliers, uint8-quantised weights, kept dims and a 4-D output.
Run with `-s` to see the differences measured.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from skimage.data import astronaut, camera

from faceapi.engine.models.expression import EXPRESSIONS
from faceapi.engine.models.mini_xception import MODEL_LABELS, MiniXceptionEmotion, normalise
from faceapi.engine.models.session import create_session
from faceapi.engine.models.tfjs_graph import UnsupportedGraphError, convert_graph_model

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO / "models" / "npm" / "node_modules" / "@vladmandic" / "human" / "models"
RUNNER = REPO / "peers" / "faceapijs" / "graph.mjs"
FER_DIR = Path(os.environ.get("FACEAPI_DATA_DIR", REPO.parent / "shared" / "data")) / "fer2013"
FER_IMAGES_PER_CLASS = 10
# float32 from two kernel libraries (XNNPACK in wasm, MLAS in onnxruntime) summing in
# different orders: probabilities agree to ~1e-7.
TOLERANCE = 1e-4


def _missing_node() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not on PATH"
    if not (RUNNER.parent / "node_modules").is_dir():
        return (
            "peers/faceapijs/node_modules is missing: "
            "npm ci --ignore-scripts --prefix peers/faceapijs"
        )
    return None


MISSING_NODE = _missing_node()
MISSING_MODEL = MISSING_NODE or (
    None
    if MODEL_DIR.is_dir()
    else "@vladmandic/human is not installed in models/npm: "
    "npm ci --ignore-scripts --no-audit --no-fund --prefix models/npm"
)
needs_node = pytest.mark.skipif(MISSING_NODE is not None, reason=MISSING_NODE or "")
needs_node_and_model = pytest.mark.skipif(MISSING_MODEL is not None, reason=MISSING_MODEL or "")


def _tfjs_outputs(model_json: Path, inputs: NDArray[np.float32]) -> NDArray[np.float32]:
    request = {
        "model": str(model_json),
        "shape": list(inputs.shape),
        "input": base64.b64encode(np.ascontiguousarray(inputs, "<f4").tobytes()).decode(),
    }
    done = subprocess.run(
        ["node", str(RUNNER)], input=json.dumps(request), capture_output=True, text=True, check=True
    )
    answer = json.loads(done.stdout)
    assert answer["ok"], answer["error"]
    values = np.frombuffer(base64.b64decode(answer["output"]), dtype="<f4")
    return values.reshape(answer["shape"])


def _onnx_outputs(
    model_json: Path, files: tuple[str, ...], inputs: NDArray[np.float32]
) -> NDArray[np.float32]:
    session = create_session(convert_graph_model(model_json, files), threads=1)
    return session.run(None, {session.get_inputs()[0].name: inputs})[0]


def _tight_crop(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The whole image as the face, as the engine's CroppedFace.grey_chip cuts it."""
    grey = Image.fromarray(image).convert("L")
    size = MiniXceptionEmotion.CHIP_SIZE
    return np.asarray(grey.resize((size, size), Image.Resampling.BILINEAR))


def _fer_faces() -> tuple[list[str], list[NDArray[np.uint8]]]:
    """The first FER_IMAGES_PER_CLASS val frames of each class, or none without the data."""
    labels, faces = [], []
    for label in EXPRESSIONS:
        folder = FER_DIR / "images" / "val" / label
        for path in sorted(folder.glob("*.jpg"))[:FER_IMAGES_PER_CLASS]:
            with Image.open(path) as image:
                faces.append(_tight_crop(np.asarray(image.convert("RGB"))))
            labels.append(label)
    return labels, faces


@pytest.fixture(scope="module")
def faces() -> tuple[list[str], NDArray[np.uint8]]:
    """(FER labels, [N, 64, 64] grey faces): the two portraits first, then FER frames."""
    portraits = [
        _tight_crop(astronaut()[50:185, 158:293]),  # RetinaFace box (178, 57, 273, 177)
        _tight_crop(camera()[105:200, 178:273]),  # RetinaFace box (195, 114, 256, 195)
    ]
    labels, fer = _fer_faces()
    return labels, np.stack(portraits + fer)


@pytest.fixture(scope="module")
def emotion_tfjs(faces: tuple[list[str], NDArray[np.uint8]]) -> NDArray[np.float32]:
    """Human's emotion model in tfjs, in its own label order, on the normalised faces."""
    return _tfjs_outputs(MODEL_DIR / MiniXceptionEmotion.GRAPH, normalise(faces[1]))


@needs_node_and_model
def test_emotion_model_matches_tfjs(
    faces: tuple[list[str], NDArray[np.uint8]], emotion_tfjs: NDArray[np.float32]
) -> None:
    model = MiniXceptionEmotion(MODEL_DIR)
    ours = model.probabilities(faces[1])
    theirs = emotion_tfjs[:, [MODEL_LABELS.index(label) for label in EXPRESSIONS]]
    difference = float(np.abs(ours - theirs).max())
    print(f"emotion model on {len(ours)} faces: max |difference| {difference:.2e}")
    assert difference < TOLERANCE


@needs_node_and_model
def test_astronaut_smiles(emotion_tfjs: NDArray[np.float32]) -> None:
    assert MODEL_LABELS[int(emotion_tfjs[0].argmax())] == "happy"


@needs_node_and_model
def test_label_order_fits_fer2013(
    faces: tuple[list[str], NDArray[np.uint8]], emotion_tfjs: NDArray[np.float32]
) -> None:
    """A wrong label order would put accuracy near chance (1/7); FER val gives about 0.65."""
    labels = faces[0]
    if not labels:
        pytest.skip(f"{FER_DIR} is absent (set FACEAPI_DATA_DIR to the shared data folder)")
    predicted = [MODEL_LABELS[i] for i in emotion_tfjs[2:].argmax(axis=1)]
    accuracy = np.mean([p == t for p, t in zip(predicted, labels, strict=True)])
    print(f"FER val sample of {len(labels)}: accuracy {accuracy:.2f}")
    assert accuracy > 0.45


# Synthetic graphs, written in the tfjs graph-model format.


def _string(text: str) -> dict:
    return {"s": base64.b64encode(text.encode()).decode()}


def _ints(*values: int) -> dict:
    return {"list": {"i": [str(value) for value in values]}}


def _window(padding: str, stride: int) -> dict:
    return {
        "padding": _string(padding),
        "strides": _ints(1, stride, stride, 1),
        "dilations": _ints(1, 1, 1, 1),
        "data_format": _string("NHWC"),
    }


def _node(name: str, op: str, inputs: list[str], **attr: dict) -> dict:
    return {"name": name, "op": op, "input": inputs, "attr": attr}


def _synthetic_nodes(keep_dims: bool) -> list[dict]:
    """8x8x3 input: depthwise (x2) SAME stride 2 to 4x4x6 (one pixel of padding, after),
    fused 3x3 conv + relu, 3x3 max pool SAME stride 2 to 2x2x5, plus a 1x1 stride-2 branch,
    then relu, mean over H and W, softmax."""
    return [
        _node(
            "input",
            "Placeholder",
            [],
            shape={"shape": {"dim": [{"size": "-1"}, {"size": "8"}, {"size": "8"}, {"size": "3"}]}},
        ),
        _node("depthwise", "DepthwiseConv2dNative", ["input", "dw_filter"], **_window("SAME", 2)),
        _node(
            "conv",
            "_FusedConv2D",
            ["depthwise", "conv_filter", "conv_bias"],
            fused_ops={"list": {"s": [_string("BiasAdd")["s"], _string("Relu")["s"]]}},
            num_args={"i": "1"},
            **_window("SAME", 1),
        ),
        _node(
            "pool",
            "MaxPool",
            ["conv"],
            ksize=_ints(1, 3, 3, 1),
            **{k: v for k, v in _window("SAME", 2).items() if k != "dilations"},
        ),
        _node(
            "branch",
            "_FusedConv2D",
            ["depthwise:0", "branch_filter", "branch_bias"],
            fused_ops={"list": {"s": [_string("BiasAdd")["s"]]}},
            num_args={"i": "1"},
            **_window("SAME", 2),
        ),
        _node("sum", "AddV2", ["pool", "branch"]),
        _node("relu", "Relu", ["sum"]),
        _node("mean", "Mean", ["relu", "axes"], keep_dims={"b": keep_dims}),
        _node("softmax", "Softmax", ["mean"]),
        _node("output", "Identity", ["softmax"]),
    ]


def _synthetic_weights() -> dict[str, NDArray[np.generic]]:
    random = np.random.default_rng(7)
    return {
        "dw_filter": random.normal(size=(3, 3, 3, 2)).astype(np.float32),
        "conv_filter": random.normal(size=(3, 3, 6, 5)).astype(np.float32),
        "conv_bias": random.normal(size=5).astype(np.float32),
        "branch_filter": random.normal(size=(1, 1, 6, 5)).astype(np.float32),
        "branch_bias": random.normal(size=5).astype(np.float32),
        "axes": np.array([1, 2], dtype=np.int32),
    }


def _write_graph_model(folder: Path, nodes: list[dict], weights: dict) -> Path:
    """model.json and one shard; conv_filter is stored uint8-quantised, as tfjs can."""
    specs, chunks = [], []
    for name, value in weights.items():
        spec = {"name": name, "shape": list(value.shape), "dtype": str(value.dtype)}
        if name == "conv_filter":
            low, scale = float(value.min()), float(value.max() - value.min()) / 255
            chunks.append(np.round((value - low) / scale).astype(np.uint8).tobytes())
            spec["quantization"] = {"dtype": "uint8", "scale": scale, "min": low}
        else:
            chunks.append(value.astype(value.dtype.newbyteorder("<")).tobytes())
        specs.append(spec)
        dtype = "DT_INT32" if value.dtype == np.int32 else "DT_FLOAT"
        nodes.append(_node(name, "Const", [], dtype={"type": dtype}))
    (folder / "weights.bin").write_bytes(b"".join(chunks))
    document = {
        "format": "graph-model",
        "modelTopology": {"node": nodes, "library": {}, "versions": {}},
        "weightsManifest": [{"paths": ["weights.bin"], "weights": specs}],
    }
    model_json = folder / "model.json"
    model_json.write_text(json.dumps(document))
    return model_json


@needs_node
@pytest.mark.parametrize("keep_dims", [False, True])
def test_synthetic_graph_matches_tfjs(tmp_path: Path, keep_dims: bool) -> None:
    model_json = _write_graph_model(tmp_path, _synthetic_nodes(keep_dims), _synthetic_weights())
    inputs = np.random.default_rng(3).normal(size=(2, 8, 8, 3)).astype(np.float32)
    theirs = _tfjs_outputs(model_json, inputs)
    ours = _onnx_outputs(model_json, ("weights.bin",), inputs)
    assert ours.shape == theirs.shape == ((2, 1, 1, 5) if keep_dims else (2, 5))
    difference = float(np.abs(ours - theirs).max())
    print(f"synthetic graph, keep_dims={keep_dims}: max |difference| {difference:.2e}")
    assert difference < TOLERANCE


def test_unknown_ops_are_refused(tmp_path: Path) -> None:
    nodes = _synthetic_nodes(keep_dims=False)
    nodes[1]["op"] = "Conv3D"
    model_json = _write_graph_model(tmp_path, nodes, _synthetic_weights())
    with pytest.raises(UnsupportedGraphError, match=r"unsupported ops: \['Conv3D'\]"):
        convert_graph_model(model_json, ("weights.bin",))


def test_unknown_fused_activations_are_refused(tmp_path: Path) -> None:
    nodes = _synthetic_nodes(keep_dims=False)
    nodes[2]["attr"]["fused_ops"]["list"]["s"][1] = _string("Relu6")["s"]
    model_json = _write_graph_model(tmp_path, nodes, _synthetic_weights())
    with pytest.raises(UnsupportedGraphError, match="Relu6"):
        convert_graph_model(model_json, ("weights.bin",))
