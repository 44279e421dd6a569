"""Our facial-expression network, trained on FER2013 (training/expression, model card in docs)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from faceapi.engine.models.session import create_session

# The API's label order; the network's outputs come in this order.
EXPRESSIONS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")


class FerExpression:
    """Seven-way softmax on a 48x48 grey face framed the way FER2013 frames its faces."""

    MANIFEST_ID = "expression-fer"
    CHIP_SIZE = 48
    # Where RetinaFace puts the five landmarks (right eye, left eye, nose, mouth corners) in
    # a FER2013 training frame, median over 2,963 of 3,000 training images: measured by
    # training/alignment/fer_template.py. Aligning to it reproduces the training framing.
    TEMPLATE = np.array(
        [[15.5, 19.0], [33.0, 18.5], [24.0, 29.0], [17.5, 36.5], [31.5, 36.5]], dtype=np.float32
    )
    PREPROCESSING = (
        f"similarity-aligned to the FER2013 5-point template, {CHIP_SIZE}x{CHIP_SIZE} grey "
        "(ITU-R 601 luma), pixel / 255"
    )

    def __init__(self, model: bytes, *, threads: int = 1) -> None:
        self._session = create_session(model, threads)

    def probabilities(self, chips: NDArray[np.uint8]) -> NDArray[np.float32]:
        """[N, 7] probabilities in EXPRESSIONS order for [N, 48, 48] grey chips."""
        inputs = (chips.astype(np.float32) / 255.0)[:, None]
        (output,) = self._session.run(None, {"input": inputs})
        return output
