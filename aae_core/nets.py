"""The networks a family's encoder and decoder are built from, chosen by its config's ``arch``:
    mlp    the paper's multilayer perceptron (784-1000-1000-z, ReLU), widths ``hidden``;
    conv   all-convolutional, no fully connected layer (the reproduction report's convolutional
           AAE): 28×28 → 14×14 → 7×7 by stride-2 4×4 convolutions with ``channels`` maps, then a 7×7
           convolution to the code (1×1 spatial); the decoder mirrors it with transposed convolutions;
           ``batch_norm`` puts a batch normalisation after every hidden convolution."""
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


ARCHITECTURES = ("mlp", "conv")


class ConvNet(nn.Sequential):
    """A convolutional encoder or decoder on flat vectors: N×784 image → N×out (encoder), or
    N×in code → N×784 logits (decoder). No hidden dropout (a recipe that asks for it is refused)."""

    def __init__(self, *layers: nn.Module, decoder: bool) -> None:
        super().__init__(*layers)
        self.decoder = decoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(len(x), -1, 1, 1) if self.decoder else x.reshape(len(x), 1, 28, 28)  # N×C×H×W
        return super().forward(h).flatten(1)  # N×out


def _hidden(conv: nn.Module, channels: int, batch_norm: bool) -> list[nn.Module]:
    return [conv, *([nn.BatchNorm2d(channels)] if batch_norm else []), nn.ReLU()]


def conv_encoder(channels: tuple[int, int], out_dim: int, batch_norm: bool) -> ConvNet:
    c1, c2 = channels
    return ConvNet(*_hidden(nn.Conv2d(1, c1, 4, stride=2, padding=1), c1, batch_norm),  # N×c1×14×14
                   *_hidden(nn.Conv2d(c1, c2, 4, stride=2, padding=1), c2, batch_norm),  # N×c2×7×7
                   nn.Conv2d(c2, out_dim, 7), decoder=False)  # N×out×1×1


def conv_decoder(channels: tuple[int, int], in_dim: int, batch_norm: bool) -> ConvNet:
    c1, c2 = channels
    return ConvNet(*_hidden(nn.ConvTranspose2d(in_dim, c2, 7), c2, batch_norm),  # N×c2×7×7
                   *_hidden(nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), c1, batch_norm),  # N×c1×14×14
                   nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1), decoder=True)  # N×1×28×28


def encoder_net(config, in_dim: int, out_dim: int) -> nn.Module:
    """The encoder a config asks for: in_dim inputs (784, the image) → out_dim."""
    if config.arch == "conv":
        if in_dim != 784:
            raise ValueError(f"a convolutional encoder reads the 28×28 image alone (784 inputs), not {in_dim}: "
                             "this model feeds its encoder more than the image; use arch 'mlp'")
        return conv_encoder(config.channels, out_dim, config.batch_norm)
    return mlp(in_dim, config.hidden, out_dim)


def decoder_net(config, in_dim: int, out_dim: int) -> nn.Module:
    """The decoder a config asks for: in_dim inputs (the code, and a label where it reads one) → out_dim (784)."""
    if config.arch == "conv":
        return conv_decoder(config.channels, in_dim, config.batch_norm)
    return mlp(in_dim, tuple(reversed(config.hidden)), out_dim)
