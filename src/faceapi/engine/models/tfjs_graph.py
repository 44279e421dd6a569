"""A tfjs graph model (model.json + weight shards) converted to an in-memory ONNX model.

Only the ops of small image classifiers are supported (SUPPORTED_OPS); any other op is refused
before anything is built. TensorFlow computes in NHWC, ONNX convolutions in NCHW: the graph's
4-D inputs are transposed to NCHW once, every 4-D activation stays NCHW, and 4-D outputs are
transposed back. Padding is written out explicitly, computed as TensorFlow computes it.
Weights are read, and dequantised, by `tfjs_weights.decode_weight_groups`, as tfjs does.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from faceapi.engine.models.tfjs_weights import Weights, decode_weight_groups, serialise

# `fused_ops` of _FusedConv2D we can express: the bias, then at most this activation.
_FUSED_ACTIVATIONS = {"Relu": "Relu"}
# NHWC axis -> NCHW axis.
_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


class UnsupportedGraphError(ValueError):
    """The graph uses an op, attribute or layout this converter does not handle."""


@dataclass(frozen=True, slots=True)
class _Tensor:
    """An activation in the ONNX graph: NCHW with known (H, W), or [N, C] when `spatial` is None."""

    name: str
    channels: int
    spatial: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class _Window:
    """Where a convolution or pooling window goes: output size and ONNX `pads`."""

    size: tuple[int, int]
    pads: list[int]  # [top, left, bottom, right]


def convert_graph_model(model_json: Path, allowed_files: tuple[str, ...]) -> bytes:
    """The serialised ONNX model for a tfjs graph model; its inputs and outputs keep TF's NHWC.

    Only file names in `allowed_files` may be read as weight shards. Raises
    UnsupportedGraphError for an op or attribute outside SUPPORTED_OPS' documented subset.
    """
    document = json.loads(model_json.read_text())
    if document.get("format") != "graph-model":
        raise UnsupportedGraphError(f"{model_json.name} is not a tfjs graph model")
    nodes = document["modelTopology"]["node"]
    unknown = sorted({node["op"] for node in nodes} - SUPPORTED_OPS)
    if unknown:
        raise UnsupportedGraphError(f"{model_json.name} uses unsupported ops: {unknown}")
    weights = decode_weight_groups(document["weightsManifest"], model_json.parent, allowed_files)
    converter = _Converter(weights)
    for node in _in_dependency_order(nodes):
        converter.add(node)
    return converter.model(model_json.stem, _output_names(document, nodes))


def _in_dependency_order(nodes: list[dict]) -> list[dict]:
    """Nodes ordered so that each comes after the nodes it reads."""
    by_name = {node["name"]: node for node in nodes}
    sources = {
        node["name"]: [_source_name(source) for source in node.get("input", [])] for node in nodes
    }
    order = list(TopologicalSorter(sources).static_order())
    missing = sorted(set(order) - set(by_name))
    if missing:
        raise UnsupportedGraphError(f"inputs refer to nodes that do not exist: {missing}")
    return [by_name[name] for name in order]


def _source_name(reference: str) -> str:
    """The node an input refers to: `name` or `name:0`; other outputs and control edges fail."""
    name, _, index = reference.partition(":")
    if reference.startswith("^") or index not in ("", "0"):
        raise UnsupportedGraphError(f"input {reference!r}: only first outputs are supported")
    return name


def _output_names(document: dict, nodes: list[dict]) -> list[str]:
    """The signature's outputs, or else the nodes nothing reads."""
    signature = document.get("userDefinedMetadata", {}).get("signature", {})
    if "outputs" in signature:
        return [_source_name(name) for name in signature["outputs"]]
    read = {_source_name(source) for node in nodes for source in node.get("input", [])}
    return [node["name"] for node in nodes if node["name"] not in read and node["op"] != "Const"]


def _attr(node: dict, key: str) -> dict:
    try:
        return node["attr"][key]
    except KeyError:
        raise UnsupportedGraphError(f"{node['name']}: attribute {key} is missing") from None


def _string(node: dict, key: str) -> str:
    return base64.b64decode(_attr(node, key)["s"]).decode()


def _strings(node: dict, key: str) -> list[str]:
    return [base64.b64decode(value).decode() for value in _attr(node, key)["list"].get("s", [])]


def _spatial_pair(node: dict, key: str) -> tuple[int, int]:
    """(H, W) of an NHWC list attribute such as strides, dilations or ksize."""
    batch, height, width, channels = (int(value) for value in _attr(node, key)["list"]["i"])
    if batch != 1 or channels != 1:
        raise UnsupportedGraphError(f"{node['name']}: {key} must be 1 on batch and channels")
    return height, width


def _window(
    node: dict,
    size: tuple[int, int],
    kernel: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int] = (1, 1),
) -> _Window:
    """TensorFlow's output size and padding; SAME puts the odd padded pixel after."""
    padding = _string(node, "padding")
    if padding not in ("SAME", "VALID"):
        raise UnsupportedGraphError(f"{node['name']}: padding {padding} is not supported")
    outputs, before, after = [], [], []
    for extent, k, stride, dilation in zip(size, kernel, strides, dilations, strict=True):
        span = (k - 1) * dilation + 1
        if padding == "VALID":
            outputs.append(math.ceil((extent - span + 1) / stride))
            before.append(0)
            after.append(0)
            continue
        out = math.ceil(extent / stride)
        total = max((out - 1) * stride + span - extent, 0)
        outputs.append(out)
        before.append(total // 2)
        after.append(total - total // 2)
    return _Window((outputs[0], outputs[1]), before + after)


def _check_nhwc(node: dict) -> None:
    data_format = _string(node, "data_format") if "data_format" in node.get("attr", {}) else "NHWC"
    if data_format != "NHWC":
        raise UnsupportedGraphError(f"{node['name']}: data_format {data_format} is not supported")


class _Converter:
    """Builds the ONNX graph one tfjs node at a time, in dependency order."""

    def __init__(self, weights: Weights) -> None:
        self._weights = weights
        self._tensors: dict[str, _Tensor] = {}
        self._constants: dict[str, str] = {}  # Const node name -> weight name
        self._inputs: list[onnx.ValueInfoProto] = []
        self._nodes: list[onnx.NodeProto] = []
        self._initializers: list[onnx.TensorProto] = []

    def add(self, node: dict) -> None:
        _HANDLERS[node["op"]](self, node)

    # Helpers.

    def _input(self, node: dict, index: int) -> _Tensor:
        name = _source_name(node["input"][index])
        if name not in self._tensors:
            raise UnsupportedGraphError(f"{node['name']}: input {index} must be an activation")
        return self._tensors[name]

    def _constant_value(self, node: dict, index: int) -> NDArray[np.generic]:
        name = _source_name(node["input"][index])
        if name not in self._constants:
            raise UnsupportedGraphError(f"{node['name']}: input {index} must be a constant")
        return self._weights[self._constants[name]]

    def _initializer(self, hint: str, array: NDArray[np.generic]) -> str:
        name = f"{hint}/onnx_{len(self._initializers)}"
        self._initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def _emit(self, op_type: str, inputs: list[str], output: str, **attrs: object) -> None:
        self._nodes.append(helper.make_node(op_type, inputs, [output], **attrs))

    # One method per tfjs op.

    def _const(self, node: dict) -> None:
        if node["name"] not in self._weights:
            raise UnsupportedGraphError(f"{node['name']}: constant missing from the weights")
        self._constants[node["name"]] = node["name"]

    def _placeholder(self, node: dict) -> None:
        """An NHWC float input with static H, W and C; transposed to NCHW once, here."""
        dims = [int(dim.get("size", -1)) for dim in _attr(node, "shape")["shape"]["dim"]]
        if len(dims) != 4 or min(dims[1:]) < 1:
            raise UnsupportedGraphError(f"{node['name']}: input shape {dims} is not NHWC")
        _, height, width, channels = dims
        self._inputs.append(
            helper.make_tensor_value_info(
                node["name"], TensorProto.FLOAT, ["N", height, width, channels]
            )
        )
        output = f"{node['name']}/nchw"
        self._emit("Transpose", [node["name"]], output, perm=[0, 3, 1, 2])
        self._tensors[node["name"]] = _Tensor(output, channels, (height, width))

    def _fused_conv(self, node: dict) -> None:
        """Conv2D + BiasAdd (+ activation), filters [kh, kw, in, out]."""
        fused = _strings(node, "fused_ops")
        activations = fused[1:]
        if fused[:1] != ["BiasAdd"] or len(activations) > 1 or len(node["input"]) != 3:
            raise UnsupportedGraphError(f"{node['name']}: fused_ops {fused} are not supported")
        if any(op not in _FUSED_ACTIVATIONS for op in activations):
            raise UnsupportedGraphError(f"{node['name']}: fused_ops {fused} are not supported")
        x = self._spatial_input(node)
        filters = self._constant_value(node, 1)
        attributes, size = self._conv_attributes(node, x, filters.shape[:2])
        conv = f"{node['name']}/conv" if activations else node["name"]
        weights = self._initializer(node["name"], filters.transpose(3, 2, 0, 1))
        bias = self._initializer(node["name"], self._constant_value(node, 2))
        self._emit("Conv", [x.name, weights, bias], conv, **attributes)
        for activation in activations:
            self._emit(_FUSED_ACTIVATIONS[activation], [conv], node["name"])
        self._tensors[node["name"]] = _Tensor(node["name"], filters.shape[3], size)

    def _depthwise_conv(self, node: dict) -> None:
        """Filters [kh, kw, in, multiplier]; output channel c * multiplier + m, as in ONNX."""
        x = self._spatial_input(node)
        filters = self._constant_value(node, 1)
        height, width, channels, multiplier = filters.shape
        onnx_filters = filters.transpose(2, 3, 0, 1).reshape(
            channels * multiplier, 1, height, width
        )
        attributes, size = self._conv_attributes(node, x, (height, width))
        weights = self._initializer(node["name"], onnx_filters)
        self._emit("Conv", [x.name, weights], node["name"], group=channels, **attributes)
        self._tensors[node["name"]] = _Tensor(node["name"], channels * multiplier, size)

    def _conv_attributes(
        self, node: dict, x: _Tensor, kernel: tuple[int, int]
    ) -> tuple[dict[str, list[int]], tuple[int, int]]:
        """ONNX Conv's strides, dilations and pads, and the output (H, W)."""
        assert x.spatial is not None  # checked by _spatial_input
        _check_nhwc(node)
        strides = _spatial_pair(node, "strides")
        dilations = _spatial_pair(node, "dilations")
        window = _window(node, x.spatial, kernel, strides, dilations)
        attributes = {"strides": list(strides), "dilations": list(dilations), "pads": window.pads}
        return attributes, window.size

    def _max_pool(self, node: dict) -> None:
        """Padded positions never win: ONNX MaxPool, like TF's, ignores them."""
        _check_nhwc(node)
        x = self._spatial_input(node)
        assert x.spatial is not None
        kernel = _spatial_pair(node, "ksize")
        strides = _spatial_pair(node, "strides")
        window = _window(node, x.spatial, kernel, strides)
        self._emit(
            "MaxPool",
            [x.name],
            node["name"],
            kernel_shape=list(kernel),
            strides=list(strides),
            pads=window.pads,
        )
        self._tensors[node["name"]] = _Tensor(node["name"], x.channels, window.size)

    def _mean(self, node: dict) -> None:
        """The mean over H and W (global average pooling), with or without kept dims."""
        x = self._spatial_input(node)
        axes = {int(axis) % 4 for axis in np.ravel(self._constant_value(node, 1))}
        if axes != {1, 2}:
            raise UnsupportedGraphError(f"{node['name']}: Mean over axes {sorted(axes)}")
        keep = bool(node.get("attr", {}).get("keep_dims", {}).get("b", False))
        onnx_axes = sorted(_NCHW_AXIS[axis] for axis in axes)
        self._emit("ReduceMean", [x.name], node["name"], axes=onnx_axes, keepdims=int(keep))
        self._tensors[node["name"]] = _Tensor(node["name"], x.channels, (1, 1) if keep else None)

    def _add(self, node: dict) -> None:
        a, b = self._input(node, 0), self._input(node, 1)
        if (a.channels, a.spatial) != (b.channels, b.spatial):
            raise UnsupportedGraphError(f"{node['name']}: AddV2 only adds same-shape tensors")
        self._emit("Add", [a.name, b.name], node["name"])
        self._tensors[node["name"]] = _Tensor(node["name"], a.channels, a.spatial)

    def _relu(self, node: dict) -> None:
        x = self._input(node, 0)
        self._emit("Relu", [x.name], node["name"])
        self._tensors[node["name"]] = _Tensor(node["name"], x.channels, x.spatial)

    def _softmax(self, node: dict) -> None:
        """TF normalises the last axis: channels, which is axis 1 of an NCHW tensor."""
        x = self._input(node, 0)
        axis = -1 if x.spatial is None else 1
        self._emit("Softmax", [x.name], node["name"], axis=axis)
        self._tensors[node["name"]] = _Tensor(node["name"], x.channels, x.spatial)

    def _identity(self, node: dict) -> None:
        self._tensors[node["name"]] = self._input(node, 0)

    def _spatial_input(self, node: dict) -> _Tensor:
        x = self._input(node, 0)
        if x.spatial is None:
            raise UnsupportedGraphError(f"{node['name']}: input must be a 4-D image tensor")
        return x

    # The model.

    def _output(self, name: str) -> onnx.ValueInfoProto:
        """Graph output `name` in TF's layout: NHWC for images, [N, C] otherwise."""
        tensor = self._tensors[name]
        if tensor.spatial is None:
            self._emit("Identity", [tensor.name], f"{name}:0")
            shape: list[str | int] = ["N", tensor.channels]
        else:
            self._emit("Transpose", [tensor.name], f"{name}:0", perm=[0, 2, 3, 1])
            shape = ["N", *tensor.spatial, tensor.channels]
        return helper.make_tensor_value_info(f"{name}:0", TensorProto.FLOAT, shape)

    def model(self, graph_name: str, outputs: list[str]) -> bytes:
        output_infos = [self._output(name) for name in outputs]
        graph = helper.make_graph(
            self._nodes, graph_name, self._inputs, output_infos, self._initializers
        )
        return serialise(graph)


# tfjs op -> the method that converts it; nothing else is converted.
_HANDLERS: dict[str, Callable[[_Converter, dict], None]] = {
    "AddV2": _Converter._add,
    "Const": _Converter._const,
    "DepthwiseConv2dNative": _Converter._depthwise_conv,
    "Identity": _Converter._identity,
    "MaxPool": _Converter._max_pool,
    "Mean": _Converter._mean,
    "Placeholder": _Converter._placeholder,
    "Relu": _Converter._relu,
    "Softmax": _Converter._softmax,
    "_FusedConv2D": _Converter._fused_conv,
}
SUPPORTED_OPS = frozenset(_HANDLERS)
