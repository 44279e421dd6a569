"""tfjs weights (a `weightsManifest` and its shards) read as tfjs reads them, and the ONNX
models built from them serialised for onnxruntime: shared by face-api.js's hand-built graphs
and by the tfjs graph-model converter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import helper

# ONNX opset for the graphs: old enough for any supported onnxruntime, new enough for Softmax
# over the last axis alone (opset 13).
OPSET = 13

# float32, or int32 for a graph model's axis and shape constants.
Weights = dict[str, NDArray[np.float32] | NDArray[np.int32]]

_DTYPE_BYTES = {"uint8": 1, "uint16": 2}
_WEIGHT_DTYPES = {"float32": np.dtype(np.float32), "int32": np.dtype(np.int32)}


def load_tfjs_weights(manifest_path: Path, allowed_files: tuple[str, ...]) -> Weights:
    """Read a tfjs weights manifest and its shard files, dequantised as tfjs does.

    Only file names in `allowed_files` may be read, so the files a model declares (and whose
    checksums the models manifest records) are the files it uses.
    """
    groups = json.loads(manifest_path.read_text())
    return decode_weight_groups(groups, manifest_path.parent, allowed_files)


def decode_weight_groups(
    groups: list[dict], folder: Path, allowed_files: tuple[str, ...]
) -> Weights:
    """The weights of a tfjs `weightsManifest` (its groups), read from shards in `folder`."""
    weights: Weights = {}
    for group in groups:
        unknown = [path for path in group["paths"] if path not in allowed_files]
        if unknown:
            raise ValueError(f"the weights manifest refers to undeclared files {unknown}")
        data = b"".join((folder / path).read_bytes() for path in group["paths"])
        weights.update(_decode_group(group["weights"], data))
    return weights


def _decode_group(specs: list[dict], data: bytes) -> Weights:
    weights: Weights = {}
    offset = 0
    for spec in specs:
        weights[spec["name"]], size = _decode_weight(spec, data, offset)
        offset += size
    if offset != len(data):
        raise ValueError(f"weights use {offset} bytes, the shards hold {len(data)}")
    return weights


def _decode_weight(
    spec: dict, data: bytes, offset: int
) -> tuple[NDArray[np.float32] | NDArray[np.int32], int]:
    """One weight and the bytes it took; tfjs computes `q * scale + min` in double.

    Dequantised int32 weights are rounded as tfjs's Math.round does: halves up.
    """
    dtype = _WEIGHT_DTYPES.get(spec["dtype"])
    if dtype is None:
        raise ValueError(f"{spec['name']}: dtype {spec['dtype']} is not supported")
    count = int(np.prod(spec["shape"], dtype=np.int64))
    quantization = spec.get("quantization")
    if quantization is None:
        values = np.frombuffer(data, dtype=dtype.newbyteorder("<"), count=count, offset=offset)
        return values.reshape(spec["shape"]).astype(dtype), count * 4
    kind = quantization["dtype"]
    if kind not in _DTYPE_BYTES:
        raise ValueError(f"{spec['name']}: quantization {kind} is not supported")
    raw = np.frombuffer(data, dtype=f"<u{_DTYPE_BYTES[kind]}", count=count, offset=offset)
    values = raw.astype(np.float64) * quantization["scale"] + quantization["min"]
    if dtype == np.int32:
        values = np.floor(values + 0.5)
    return values.reshape(spec["shape"]).astype(dtype), count * _DTYPE_BYTES[kind]


def serialise(graph: onnx.GraphProto) -> bytes:
    """A checked ONNX model of `graph` at OPSET, as bytes for an InferenceSession."""
    opsets = [helper.make_opsetid("", OPSET)]
    # The lowest IR version for the opset, not the onnx package's newest: onnxruntime
    # refuses IR versions newer than it knows.
    ir_version = helper.find_min_ir_version_for(opsets)
    model = helper.make_model(graph, opset_imports=opsets, ir_version=ir_version)
    onnx.checker.check_model(model)
    return model.SerializeToString()
