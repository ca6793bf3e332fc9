"""The paper's multilayer perceptron (784-1000-1000-z, ReLU), widths configurable."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Sequential):
    """Linear-ReLU stack: in_dim → hidden[0] → … → out_dim (no activation on the output).

    ``dropout``: dropout after every hidden ReLU in training mode (set by a training recipe; the
    state dict is the same whatever its value)."""

    dropout: float = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = layer(x)
            if self.dropout and self.training and isinstance(layer, nn.ReLU):
                x = F.dropout(x, self.dropout, training=True)
        return x


def mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int) -> MLP:
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, out_dim))
    return MLP(*layers)
