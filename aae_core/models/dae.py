"""Denoising autoencoder (Vincent et al. 2008): reconstruct the clean x from a corrupted x̃.

The encoder sees x̃ (zero-masking, salt-and-pepper or additive Gaussian noise at a set level, drawn
afresh every step) and the decoder is scored against x, so the code must keep what survives the
corruption: the digit, not the pixels. Corruption acts in training only; a trained DAE encodes
whatever it is given.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from aae_core.corrupt import check, corrupt
from aae_core.models.ae import AE, AEConfig
from aae_core.registry import register_model


@dataclass(frozen=True)
class DAEConfig(AEConfig):
    corruption: str = "mask"  # one of aae_core.corrupt.CORRUPTIONS
    corruption_level: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.corruption, self.corruption_level)


@register_model("dae")
class DenoisingAE(AE):
    summary = "Reconstruct the clean digit from a corrupted copy: the code keeps what survives the noise."
    config_class = DAEConfig

    def _encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """x: N×784, corrupted in training mode (then the recipe's own noise, if any)."""
        if self.training:
            x = corrupt(x, self.config.corruption, self.config.corruption_level)
        return super()._encoder_input(x)
