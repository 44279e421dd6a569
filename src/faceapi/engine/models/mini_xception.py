"""oarriaga/face_classification's FER2013 emotion classifier, as shipped in @vladmandic/human.

Human 3.3.6 ships it as a tfjs graph model (`models/emotion.json` + `emotion.bin`, MIT);
`tfjs_graph` converts it to ONNX at start-up. Despite the name everyone uses for it, the graph
is oarriaga's `big_XCEPTION` (32/64-channel stem, two residual separable blocks of 128 and 256
channels), not `mini_XCEPTION`: see docs/models/mini-xception-emotion.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from faceapi.engine.models.expression import EXPRESSIONS
from faceapi.engine.models.session import create_session
from faceapi.engine.models.tfjs_graph import convert_graph_model

# oarriaga's `get_labels('fer2013')` order (FER2013's label ids 0-6), which Human's
# src/gear/emotion.ts also uses for this model, in the API's names.
MODEL_LABELS = ("angry", "disgusted", "fearful", "happy", "sad", "surprised", "neutral")
_API_COLUMNS = [MODEL_LABELS.index(label) for label in EXPRESSIONS]


def normalise(faces: NDArray[np.uint8]) -> NDArray[np.float32]:
    """oarriaga's `preprocess_input(x, v2=True)`: x / 255, then (x - 0.5) * 2, as NHWC."""
    scaled = faces.astype(np.float32) / np.float32(255.0)
    return ((scaled - np.float32(0.5)) * np.float32(2.0))[..., np.newaxis]


class MiniXceptionEmotion:
    """Seven-way softmax on a 64x64 grey face."""

    MANIFEST_ID: ClassVar[str] = "human-emotion"
    CHIP_SIZE: ClassVar[int] = 64
    # Read from model_dir; the models manifest records their SHA-256 under MANIFEST_ID.
    GRAPH: ClassVar[str] = "emotion.json"
    WEIGHT_FILES: ClassVar[tuple[str, ...]] = ("emotion.bin",)
    FILES: ClassVar[tuple[str, ...]] = (GRAPH, *WEIGHT_FILES)
    PREPROCESSING: ClassVar[str] = (
        f"{CHIP_SIZE}x{CHIP_SIZE} grey (ITU-R 601 luma), (pixel / 255 - 0.5) * 2, "
        "as oarriaga trained it"
    )

    def __init__(self, model_dir: Path, *, threads: int = 1) -> None:
        """Convert the graph in `model_dir` (Human's `models` folder) and open a session.

        `threads` is onnxruntime's intra-op thread count.
        """
        model = convert_graph_model(model_dir / self.GRAPH, self.WEIGHT_FILES)
        self._session = create_session(model, threads)
        self._input = self._session.get_inputs()[0].name

    def probabilities(self, faces: NDArray[np.uint8]) -> NDArray[np.float32]:
        """[N, 7] probabilities in EXPRESSIONS (API) order for [N, 64, 64] grey uint8 faces."""
        if faces.ndim != 3 or faces.shape[1:] != (self.CHIP_SIZE, self.CHIP_SIZE):
            raise ValueError(f"faces must be [N, 64, 64] grey, got {faces.shape}")
        return self.run(normalise(faces))

    def run(self, inputs: NDArray[np.float32]) -> NDArray[np.float32]:
        """The network on already normalised [N, 64, 64, 1] inputs; [N, 7] in API order."""
        (output,) = self._session.run(None, {self._input: inputs})
        return output[:, _API_COLUMNS]
