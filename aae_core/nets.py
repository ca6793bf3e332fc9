"""The paper's multilayer perceptron (784-1000-1000-z, ReLU), widths configurable."""
from __future__ import annotations

from torch import nn


def mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int) -> nn.Sequential:
    """Linear-ReLU stack: in_dim → hidden[0] → … → out_dim (no activation on the output)."""
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)
