"""Train one ExpressionNet on FER2013 train minus the fixed 10% hold-out.

The shipped network is three runs, each continuing from the last (README.md, "Reproduce"):
python train.py --seed 2 --out /work/venvs/train-cache/net-seed2.pt, then two more with --init.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the usual torch alias)
from data import DEFAULT_CACHE, DEFAULT_DATA, EXPRESSIONS, holdout_mask, load_split
from model import STAGES, ExpressionNet
from torch import nn


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--out", type=Path, required=True, help="checkpoint path, outside the repo")
    p.add_argument("--init", type=Path, help="start from this checkpoint's weights")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--epochs", type=int, default=24)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05, help="peak SGD learning rate")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument(
        "--class-weight-power",
        type=float,
        default=0.5,
        help="loss weight per class = (mean count / class count) ** power; 0 turns it off",
    )
    p.add_argument("--warmup-epochs", type=float, default=1.0)
    p.add_argument("--dropout", type=float, default=0.2, help="head dropout")
    p.add_argument("--erase-prob", type=float, default=0.25, help="random-erasing probability")
    p.add_argument("--limit", type=int, default=0, help="train on this many images (smoke test)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--include-holdout",
        action="store_true",
        help="fit on the hold-out too (a recipe's final refit); hold-out figures then mean nothing",
    )
    return p.parse_args()


def augment(x: torch.Tensor, gen: torch.Generator, erase_prob: float) -> torch.Tensor:
    """Random flip, scale, rotation, shift, brightness/contrast and erasing on a [N,1,H,W] batch.

    Geometric jitter stands in for the different framing a face detector gives at inference.
    """
    n = x.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, generator=gen) * (hi - lo) + lo

    scale = uniform(0.85, 1.15)
    angle = uniform(-15.0, 15.0) * math.pi / 180.0
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    # affine_grid maps output to input coordinates, so dividing by scale zooms in by scale.
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            # Shift up to 8% of the side: 0.16 in affine_grid's [-1, 1] coordinates.
            torch.stack([cos * flip, -sin, uniform(-0.16, 0.16)], 1),
            torch.stack([sin * flip, cos, uniform(-0.16, 0.16)], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = uniform(0.7, 1.3).view(n, 1, 1, 1)
    brightness = uniform(-0.12, 0.12).view(n, 1, 1, 1)
    x = ((x - mean) * contrast + mean + brightness).clamp(0.0, 1.0)
    return random_erase(x, gen, erase_prob)


def random_erase(x: torch.Tensor, gen: torch.Generator, p: float) -> torch.Tensor:
    """Fill one random rectangle (2-20% of the area) with noise in half of the images."""
    n, _, h, w = x.shape
    x = x.clone()
    for i in torch.nonzero(torch.rand(n, generator=gen) < p).flatten().tolist():
        area = (torch.rand(1, generator=gen).item() * 0.18 + 0.02) * h * w
        ratio = math.exp((torch.rand(1, generator=gen).item() - 0.5) * 2 * math.log(3.0))
        eh = min(h, max(1, round(math.sqrt(area * ratio))))
        ew = min(w, max(1, round(math.sqrt(area / ratio))))
        top = int(torch.randint(0, h - eh + 1, (1,), generator=gen))
        left = int(torch.randint(0, w - ew + 1, (1,), generator=gen))
        x[i, :, top : top + eh, left : left + ew] = torch.rand(1, eh, ew, generator=gen)
    return x


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(255.0).unsqueeze(1)


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, flip_tta: bool = False) -> np.ndarray:
    """Softmax probabilities [N, 7]; with flip_tta, averaged with the mirrored image."""
    model.eval()
    out = []
    for start in range(0, len(images), 512):
        x = to_tensor(images[start : start + 512])
        prob = model(x).softmax(1)
        if flip_tta:
            prob = (prob + model(x.flip(3)).softmax(1)) / 2
        out.append(prob.numpy())
    return np.concatenate(out)


def class_weights(labels: np.ndarray, power: float) -> torch.Tensor:
    counts = np.bincount(labels, minlength=len(EXPRESSIONS)).astype(np.float64)
    return torch.tensor((counts.mean() / counts) ** power, dtype=torch.float32)


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return 0.5 * peak * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def recall_report(labels: np.ndarray, pred: np.ndarray) -> str:
    recalls = [(pred[labels == c] == c).mean() for c in range(len(EXPRESSIONS))]
    return " ".join(f"{name[:4]}={r:.2f}" for name, r in zip(EXPRESSIONS, recalls, strict=True))


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    images, labels = load_split(args.data, "train", args.cache)
    held = holdout_mask(labels)
    # A few FER2013 images are blank (flat grey); they teach nothing, so leave them out of fitting.
    blank = images.reshape(len(images), -1).std(1) < 1.0
    fittable = np.ones_like(held) if args.include_holdout else ~held
    fit_idx = np.flatnonzero(fittable & ~blank)
    if args.limit:
        fit_idx = rng.choice(fit_idx, size=args.limit, replace=False)
    hold_x, hold_y = images[held], labels[held]
    dropped = int((fittable & blank).sum())
    print(f"fit {len(fit_idx)} images, hold-out {held.sum()}, blank dropped {dropped}")
    if args.include_holdout:
        print("the hold-out is fitted too: its accuracy below is training accuracy, not a score")

    model = ExpressionNet(STAGES, args.dropout)
    if args.init:
        model.load_state_dict(torch.load(args.init)["state_dict"])
    weights = class_weights(labels[fit_idx], args.class_weight_power)
    print("class weights", dict(zip(EXPRESSIONS, weights.numpy().round(2).tolist(), strict=True)))
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=args.label_smoothing)
    # No weight decay on BatchNorm and biases: decaying them only fights the normalisation.
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay}],
        lr=args.lr,
        momentum=0.9,
        nesterov=True,
    )
    steps_per_epoch = len(fit_idx) // args.batch_size
    total = steps_per_epoch * args.epochs
    warmup = round(steps_per_epoch * args.warmup_epochs)
    history, step, started = [], 0, time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0, seen, loss_sum, correct = time.time(), 0, 0.0, 0
        order = rng.permutation(fit_idx)
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            x = augment(to_tensor(images[idx]), gen, args.erase_prob)
            y = torch.from_numpy(labels[idx])
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, warmup, args.lr)
            logits = model(x)
            loss = loss_fn(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
        pred = predict(model, hold_x).argmax(1)
        hold_acc = float((pred == hold_y).mean())
        history.append({"epoch": epoch, "hold_acc": hold_acc, "seconds": time.time() - t0})
        print(
            f"epoch {epoch:3d}/{args.epochs} {time.time() - t0:6.1f}s "
            f"loss {loss_sum / seen:.4f} train_acc {correct / seen:.4f} hold_acc {hold_acc:.4f} "
            f"| {recall_report(hold_y, pred)}",
            flush=True,
        )

    tta_pred = predict(model, hold_x, flip_tta=True).argmax(1)
    tta_acc = float((tta_pred == hold_y).mean())
    minutes = (time.time() - started) / 60
    print(f"final hold-out acc {history[-1]['hold_acc']:.4f}, with flip TTA {tta_acc:.4f}")
    print(f"flip TTA recall: {recall_report(hold_y, tta_pred)}")
    print(f"training took {minutes:.1f} min")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    run_args = {k: str(v) for k, v in vars(args).items()}
    config = {"stages": STAGES, "dropout": args.dropout, "args": run_args}
    torch.save({"state_dict": model.state_dict(), "config": config}, args.out)
    summary = {"history": history, "hold_tta_acc": tta_acc, "minutes": minutes, **config}
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1))
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
