"""Export one or more trained ExpressionNets as a single ONNX graph and check it against torch.

The graph averages softmax probabilities over every net and over the mirrored image (flip
test-time augmentation), so the product runs one file with one input and one output.

Example: python export.py /work/venvs/train-cache/net-seed2.pt
(several checkpoints give one graph that averages them)
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from data import DEFAULT_CACHE, DEFAULT_DATA, holdout_mask, load_split
from model import ExpressionNet
from torch import nn

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "src/faceapi/engine/weights/expression-fer-v1.onnx"
OPSET = 17


class Ensemble(nn.Module):
    """Mean of softmax(net(x)) and softmax(net(mirror(x))) over all nets: [N,1,48,48] -> [N,7]."""

    def __init__(self, nets: list[nn.Module], flip_tta: bool = True) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)
        self.flip_tta = flip_tta
        # Mirroring as a constant-index gather exports to a plain ONNX Gather.
        self.register_buffer("mirror", torch.arange(47, -1, -1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        views = [x, x.index_select(3, self.mirror)] if self.flip_tta else [x]
        probs = [net(v).softmax(dim=1) for net in self.nets for v in views]
        return torch.stack(probs).mean(dim=0)


def load_net(path: Path) -> ExpressionNet:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    stages = tuple(tuple(s) for s in checkpoint["config"]["stages"])
    # Checkpoints from before dropout was a setting lack the key; they used 0.4.
    net = ExpressionNet(stages, checkpoint["config"].get("dropout", 0.4))
    net.load_state_dict(checkpoint["state_dict"])
    return net.eval()


def export(model: Ensemble, out: Path) -> None:
    model.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (torch.rand(2, 1, 48, 48),),
        str(out),
        input_names=["input"],
        output_names=["probabilities"],
        dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,  # the TorchScript exporter writes one self-contained file
        do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)


def max_difference(model: Ensemble, out: Path, images: np.ndarray) -> float:
    """Largest absolute gap between onnxruntime and torch probabilities on real images."""
    x = images.astype(np.float32)[:, None] / 255.0
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (got,) = session.run(["probabilities"], {"input": x})
    return float(np.abs(got - expected).max())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", type=Path, nargs="+")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--no-flip-tta", action="store_true")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = p.parse_args()
    torch.set_num_threads(2)

    model = Ensemble([load_net(c) for c in args.checkpoints], flip_tta=not args.no_flip_tta)
    export(model, args.out)

    # Check on 300 hold-out images (train split): exporting must not need to look at val.
    images, labels = load_split(args.data, "train", args.cache)
    sample = images[holdout_mask(labels)][:300]
    gap = max_difference(model, args.out, sample)
    print(f"onnxruntime vs torch on {len(sample)} images: max |diff| = {gap:.2e}")
    if gap > 1e-4:
        raise SystemExit("ONNX output differs from torch by more than 1e-4")
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, sha256 {digest})")


if __name__ == "__main__":
    main()
