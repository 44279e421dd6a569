"""face-api.js's AgeGenderNet, FaceExpressionNet and FaceLandmark68Net as in-memory ONNX graphs.

face-api.js ships tfjs weights without a graph; the architectures live in its TypeScript
(`xception/TinyXception.ts`, `ageGenderNet/AgeGenderNet.ts`,
`faceFeatureExtractor/FaceFeatureExtractor.ts`, `faceFeatureExtractor/denseBlock.ts`,
`faceProcessor/FaceProcessor.ts`). Each builder below follows those files op for op, in the
same order of additions, so the graph computes what tfjs computes.

Every graph takes `faces`, [N, 112, 112, 3] float32 RGB pixels (0..255) after face-api.js's
pad-to-square and resize, and do the nets' own normalisation inside.
"""

from __future__ import annotations

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from faceapi.engine.models.tfjs_weights import Weights, serialise

# face-api.js's NetInput size and the mean RGB both backbones subtract before dividing by 255.
INPUT_SIZE = 112
MEAN_RGB = (122.782, 117.001, 104.298)


class _GraphBuilder:
    """Accumulates ONNX nodes and initialisers; each method returns its output's name.

    Tensors are NCHW inside the graph. tfjs 'same' padding puts the odd pixel at the bottom
    and right, which is ONNX's SAME_UPPER.
    """

    def __init__(self, weights: Weights) -> None:
        self._weights = weights
        self._nodes: list[onnx.NodeProto] = []
        self._initializers: list[onnx.TensorProto] = []
        self._count = 0

    def _fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, hint: str, array: NDArray[np.float32]) -> str:
        name = self._fresh(hint)
        self._initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(
        self, op_type: str, inputs: list[str], output: str | None = None, **attrs: object
    ) -> str:
        output = output or self._fresh(op_type.lower())
        self._nodes.append(helper.make_node(op_type, inputs, [output], **attrs))
        return output

    def normalised_input(self) -> str:
        """`normalize(x, meanRgb).div(255)` as in the backbones, then NHWC -> NCHW."""
        mean = self.constant("mean_rgb", np.array(MEAN_RGB, np.float32).reshape(1, 1, 1, 3))
        scale = self.constant("pixel_scale", np.array(255.0, np.float32))
        centred = self.op("Div", [self.op("Sub", ["faces", mean]), scale])
        return self.op("Transpose", [centred], perm=[0, 3, 1, 2])

    def conv(self, x: str, prefix: str, stride: int) -> str:
        """`tf.conv2d(x, filters, stride, 'same') + bias`; tfjs filters are [kh, kw, in, out]."""
        filters = self.constant(prefix, self._weights[f"{prefix}/filters"].transpose(3, 2, 0, 1))
        bias = self.constant(prefix, self._weights[f"{prefix}/bias"])
        return self.op("Conv", [x, filters, bias], strides=[stride, stride], auto_pad="SAME_UPPER")

    def separable_conv(self, x: str, prefix: str, stride: int) -> str:
        """`tf.separableConv2d(x, depthwise, pointwise, stride, 'same') + bias`."""
        depthwise = self._weights[f"{prefix}/depthwise_filter"]  # [kh, kw, in, 1]
        pointwise = self._weights[f"{prefix}/pointwise_filter"]  # [1, 1, in, out]
        channels = depthwise.shape[2]
        depthwise_name = self.constant(prefix, depthwise.transpose(2, 3, 0, 1))
        out = self.op(
            "Conv",
            [x, depthwise_name],
            strides=[stride, stride],
            group=channels,
            auto_pad="SAME_UPPER",
        )
        pointwise_name = self.constant(prefix, pointwise.transpose(3, 2, 0, 1))
        bias = self.constant(prefix, self._weights[f"{prefix}/bias"])
        return self.op("Conv", [out, pointwise_name, bias])

    def relu(self, x: str) -> str:
        return self.op("Relu", [x])

    def add(self, a: str, b: str) -> str:
        return self.op("Add", [a, b])

    def max_pool_same(self, x: str) -> str:
        """`tf.maxPool(x, [3, 3], [2, 2], 'same')`; padding never wins the max."""
        return self.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")

    def pooled_features(self, x: str) -> str:
        """`tf.avgPool(x, [7, 7], [2, 2], 'valid')` on the 7x7 map, flattened to [N, C]."""
        pooled = self.op("AveragePool", [x], kernel_shape=[7, 7], strides=[2, 2])
        return self.op("Flatten", [pooled], axis=1)

    def fully_connected(self, x: str, prefix: str, output: str | None = None) -> str:
        """`tf.matMul(x, weights) + bias`."""
        weights = self.constant(prefix, self._weights[f"{prefix}/weights"])
        bias = self.constant(prefix, self._weights[f"{prefix}/bias"])
        return self.op("Add", [self.op("MatMul", [x, weights]), bias], output)

    def model(self, name: str, outputs: dict[str, list[str | int]]) -> bytes:
        """Serialise the graph over the `faces` input; `outputs` maps names to shapes."""
        faces = helper.make_tensor_value_info(
            "faces", TensorProto.FLOAT, ["N", INPUT_SIZE, INPUT_SIZE, 3]
        )
        graph = helper.make_graph(
            self._nodes,
            name,
            [faces],
            [
                helper.make_tensor_value_info(output_name, TensorProto.FLOAT, shape)
                for output_name, shape in outputs.items()
            ],
            self._initializers,
        )
        return serialise(graph)


def _reduction_block(g: _GraphBuilder, x: str, prefix: str, activate_input: bool = True) -> str:
    out = g.relu(x) if activate_input else x
    out = g.separable_conv(out, f"{prefix}/separable_conv0", 1)
    out = g.separable_conv(g.relu(out), f"{prefix}/separable_conv1", 1)
    out = g.max_pool_same(out)
    return g.add(out, g.conv(x, f"{prefix}/expansion_conv", 2))


def _main_block(g: _GraphBuilder, x: str, prefix: str) -> str:
    out = g.separable_conv(g.relu(x), f"{prefix}/separable_conv0", 1)
    out = g.separable_conv(g.relu(out), f"{prefix}/separable_conv1", 1)
    out = g.separable_conv(g.relu(out), f"{prefix}/separable_conv2", 1)
    return g.add(out, x)


def _tiny_xception(g: _GraphBuilder, x: str, main_blocks: int) -> str:
    out = g.relu(g.conv(x, "entry_flow/conv_in", 2))
    out = _reduction_block(g, out, "entry_flow/reduction_block_0", activate_input=False)
    out = _reduction_block(g, out, "entry_flow/reduction_block_1")
    for index in range(main_blocks):
        out = _main_block(g, out, f"middle_flow/main_block_{index}")
    out = _reduction_block(g, out, "exit_flow/reduction_block")
    return g.relu(g.separable_conv(out, "exit_flow/separable_conv", 1))


def age_gender_model(weights: Weights) -> bytes:
    """AgeGenderNet: TinyXception(2), 7x7 average pool, `fc/age` and softmax of `fc/gender`.

    Outputs `age` [N, 1] in years and `gender` [N, 2] probabilities, index 0 = male.
    """
    g = _GraphBuilder(weights)
    features = g.pooled_features(_tiny_xception(g, g.normalised_input(), main_blocks=2))
    g.fully_connected(features, "fc/age", output="age")
    g.op("Softmax", [g.fully_connected(features, "fc/gender")], output="gender", axis=-1)
    return g.model("faceapijs_age_gender", {"age": ["N", 1], "gender": ["N", 2]})


def _dense_block4(g: _GraphBuilder, x: str, prefix: str, first_layer: bool = False) -> str:
    """denseBlock4 with isScaleDown: each layer sees the sum of all the block's outputs so far."""
    if first_layer:
        out1 = g.relu(g.conv(x, f"{prefix}/conv0", 2))
    else:
        out1 = g.relu(g.separable_conv(x, f"{prefix}/conv0", 2))
    out2 = g.separable_conv(out1, f"{prefix}/conv1", 1)
    in3 = g.relu(g.add(out1, out2))
    out3 = g.separable_conv(in3, f"{prefix}/conv2", 1)
    in4 = g.relu(g.add(out1, g.add(out2, out3)))
    out4 = g.separable_conv(in4, f"{prefix}/conv3", 1)
    return g.relu(g.add(out1, g.add(out2, g.add(out3, out4))))


def _face_feature_extractor(g: _GraphBuilder) -> str:
    """FaceFeatureExtractor (4 dense blocks) and the 7x7 average pool: [N, 256] features."""
    out = _dense_block4(g, g.normalised_input(), "dense0", first_layer=True)
    for block in ("dense1", "dense2", "dense3"):
        out = _dense_block4(g, out, block)
    return g.pooled_features(out)


def expression_model(weights: Weights) -> bytes:
    """FaceExpressionNet: FaceFeatureExtractor, fc, softmax.

    Outputs `expressions` [N, 7] probabilities in face-api.js's label order.
    """
    g = _GraphBuilder(weights)
    logits = g.fully_connected(_face_feature_extractor(g), "fc")
    g.op("Softmax", [logits], output="expressions", axis=-1)
    return g.model("faceapijs_expression", {"expressions": ["N", 7]})


def landmark_model(weights: Weights) -> bytes:
    """FaceLandmark68Net: FaceFeatureExtractor and fc, no activation.

    Outputs `landmarks` [N, 136]: x0, y0, x1, y1, ... as fractions of the padded 112 x 112
    input (face-api.js's `postProcess` maps them back to the face box). The server does not
    use it: training/alignment/faceapijs_landmarks.py builds it to measure face-api.js's own
    face box. It lives here because it shares the feature extractor with FaceExpressionNet.
    """
    g = _GraphBuilder(weights)
    g.fully_connected(_face_feature_extractor(g), "fc", output="landmarks")
    return g.model("faceapijs_landmarks", {"landmarks": ["N", 136]})
