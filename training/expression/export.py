"""Export one or more trained ExpressionNets as a single ONNX graph and check it against torch.

The graph averages softmax probabilities over every net and over several views of the crop
(test-time augmentation: the crop zoomed by each `--zoom` scale, each with its mirror image),
so the product runs one file with one input and one output.

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


# The shipped graph averages the crop and its mirror only. Zooming as well (--zoom 1.0 1.1 0.9)
# lifts the network alone (hold-out 68.6% -> 69.6%) but not the product's default ensemble
# with Xception (FER2013 val 69.3% -> 68.8%); see the model card.
DEFAULT_ZOOMS = (1.0,)


class Ensemble(nn.Module):
    """Mean of softmax(net(view)) over all nets and views: [N,1,48,48] -> [N,7].

    The views are the crop zoomed about its centre by each of `zooms` (1.0 = as is), each
    also mirrored when `flip_tta`.
    """

    def __init__(
        self, nets: list[nn.Module], flip_tta: bool = True, zooms: tuple[float, ...] = DEFAULT_ZOOMS
    ) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)
        self.flip_tta = flip_tta
        self.zooms = zooms
        # Mirroring as a constant-index gather exports to a plain ONNX Gather; zooming as two
        # constant-matrix MatMuls.
        self.register_buffer("mirror", torch.arange(47, -1, -1), persistent=False)
        for index, scale in enumerate(zooms):
            self.register_buffer(f"zoom{index}", zoom_matrix(48, scale), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        views = []
        for index, scale in enumerate(self.zooms):
            matrix = getattr(self, f"zoom{index}")
            view = x if scale == 1.0 else matrix @ x @ matrix.T
            views += [view, view.index_select(3, self.mirror)] if self.flip_tta else [view]
        probs = [net(v).softmax(dim=1) for net in self.nets for v in views]
        return torch.stack(probs).mean(dim=0)


def zoom_matrix(size: int, scale: float) -> torch.Tensor:
    """[size, size] bilinear resampling of one image axis, zoomed in by `scale` about its centre.

    Samples as train.py's augmentation does (`grid_sample`, align_corners=False, border
    padding): output pixel i reads source position ((i + 0.5 - size/2) / scale + size/2 - 0.5),
    clamped to the image.
    """
    out = torch.arange(size, dtype=torch.float64)
    source = ((out + 0.5 - size / 2) / scale + size / 2 - 0.5).clamp(0, size - 1)
    low = source.floor().long()
    high = (low + 1).clamp(max=size - 1)
    fraction = source - low
    matrix = torch.zeros(size, size, dtype=torch.float64)
    matrix[out.long(), low] += 1 - fraction
    matrix[out.long(), high] += fraction
    return matrix.float()


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
    p.add_argument("--zoom", type=float, nargs="+", default=DEFAULT_ZOOMS, help="TTA scales")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = p.parse_args()
    torch.set_num_threads(2)

    nets = [load_net(c) for c in args.checkpoints]
    model = Ensemble(nets, flip_tta=not args.no_flip_tta, zooms=tuple(args.zoom))
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
