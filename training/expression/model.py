"""The expression network: a compact VGG-style CNN for 48x48 grey faces."""

from __future__ import annotations

import torch
from data import EXPRESSIONS
from torch import nn

# FER2013 train pixel statistics on the 0..1 scale; normalisation lives inside the graph.
PIXEL_MEAN = 0.508
PIXEL_STD = 0.255
# (width, convs) per stage, each stage ending in a 2x2 max-pool: 48 -> 24 -> 12 -> 6 -> 3.
# Stage 1 has a single conv: a second 32-channel conv at 48x48 doubled the CPU epoch time.
STAGES = ((32, 1), (64, 2), (128, 2), (256, 2))


def _stage(c_in: int, c_out: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [
            nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class ExpressionNet(nn.Module):
    """VGG-style stages, global average pool, a dropout MLP head; returns logits."""

    def __init__(self, stages: tuple[tuple[int, int], ...] = STAGES, dropout: float = 0.2) -> None:
        super().__init__()
        blocks, c_in = [], 1
        for width, convs in stages:
            blocks.append(_stage(c_in, width, convs))
            c_in = width
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(c_in, c_in, bias=False),
            nn.BatchNorm1d(c_in),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(c_in, len(EXPRESSIONS)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N, 7] for pixels [N, 1, 48, 48] scaled to 0..1."""
        return self.head(self.features((x - PIXEL_MEAN) / PIXEL_STD))
