"""Contractive autoencoder (Rifai et al. 2011): reconstruction + λ‖∂z/∂x‖²_F.

The penalty is the squared Frobenius norm of the encoder's Jacobian at each training image: the code
is asked to change as little as possible when the image moves, except along the directions the
reconstruction needs (those of the data manifold). Computed exactly with autograd (one backward
pass per code dimension, ``losses.jacobian_frobenius``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from aae_core import losses
from aae_core.models.ae import AE, AEConfig
from aae_core.models.base import check_non_negative
from aae_core.registry import register_model


@dataclass(frozen=True)
class CAEConfig(AEConfig):
    contractive_weight: float = 1.0  # λ

    def __post_init__(self) -> None:
        super().__post_init__()
        check_non_negative("contractive_weight", self.contractive_weight)


@register_model("cae")
class ContractiveAE(AE):
    summary = "Reconstruction plus λ‖∂z/∂x‖²: the code may move only along the directions the data needs."
    config_class = CAEConfig

    def objective(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x_in = x.detach().requires_grad_(True)  # N×784, the point the Jacobian is taken at
        z = self.encoder(self._encoder_input(x_in))  # N×d
        recon = losses.bernoulli_recon(self.decoder(z), x)
        jac = losses.jacobian_frobenius(z, x_in)
        return {"loss": recon + self.config.contractive_weight * jac, "recon": recon, "contractive": jac}
