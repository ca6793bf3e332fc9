"""Wasserstein autoencoders (Tolstikhin, Bousquet, Gelly, Schölkopf 2018, arXiv:1711.01558).

Both minimise the cost c(x, x̂) = ‖x − x̂‖² plus λ·D(q(z), p(z)), a divergence between the aggregated
posterior and the prior — the AAE's idea with the reconstruction and the regulariser in one objective:
    WAE-MMD  D = the unbiased MMD with the inverse multiquadratics kernel (``losses.mmd_imq``)
             between the batch's codes and as many prior samples: no adversary at all;
    WAE-GAN  D = a discriminator on the code, as in the AAE, its generator term weighted by λ and
             minimised together with the reconstruction.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from aae_core import losses
from aae_core.models.adversarial import AdversarialConfig, discriminator_step, generator_loss
from aae_core.models.ae import AE
from aae_core.models.base import ModelConfig, check_non_negative
from aae_core.nets import mlp
from aae_core.registry import register_model


@dataclass(frozen=True)
class WAEMMDConfig(ModelConfig):
    weight: float = 10.0  # λ

    def __post_init__(self) -> None:
        super().__post_init__()
        check_non_negative("weight", self.weight)  # λ


@register_model("wae-mmd")
class WAEMMD(AE):
    summary = ("Squared-error reconstruction plus λ·MMD between the batch's codes and prior samples: the AAE's "
               "aim with a kernel in place of the adversary.")
    config_class = WAEMMDConfig
    prior_matched = True
    selection_metric = "prior_swd"
    default_recipe = "wae"

    def prior_scale(self, z_prior: torch.Tensor) -> float:
        """σ_p² of the kernel's scales: the prior's mean variance per coordinate (the WAE paper's
        N(0, σ²I) gives σ²; any other prior its own spread), read off the batch's prior samples."""
        return float(z_prior.var(0).mean())

    def objective(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self(x)
        cost = losses.squared_error(torch.sigmoid(out.recon_logits), x)
        z_prior, _ = self.prior.sample(len(x), device=x.device)  # N×d
        mmd = losses.mmd_imq(out.z, z_prior, sigma2=self.prior_scale(z_prior))
        return {"loss": cost + self.config.weight * mmd, "recon": cost, "mmd": mmd}


@dataclass(frozen=True)
class WAEGANConfig(AdversarialConfig):
    weight: float = 1.0  # λ

    def __post_init__(self) -> None:
        super().__post_init__()
        check_non_negative("weight", self.weight)  # λ


@register_model("wae-gan")
class WAEGAN(AE):
    summary = "Squared-error reconstruction plus a λ-weighted adversary on the code, minimised as one objective."
    config_class = WAEGANConfig
    prior_matched = True
    selection_metric = "prior_swd"
    default_recipe = "wae"
    phases = ("ae", "d")
    discriminator_phases = ("d",)

    def __init__(self, config: WAEGANConfig) -> None:
        super().__init__(config)
        self.discriminator = mlp(config.latent_dim, config.disc_hidden, 1)

    def phase_parameters(self):
        return {"ae": [*self.encoder.parameters(), *self.decoder.parameters()],
                "d": list(self.discriminator.parameters())}

    def objective(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self(x)
        cost = losses.squared_error(torch.sigmoid(out.recon_logits), x)
        adv = generator_loss(self.discriminator, self.for_discriminator("d", out.z))  # the adversary fixed
        return {"loss": cost + self.config.weight * adv, "recon": cost, "g": adv, "z": out.z}

    def train_step(self, batch, opts):
        x = batch.x
        terms = self.objective(x)
        z = terms.pop("z")
        opts["ae"].zero_grad(set_to_none=True)
        terms.pop("loss").backward()
        opts["ae"].step()
        z_real, _ = self.prior.sample(len(x), device=x.device)
        d_loss = discriminator_step(self.discriminator, opts["d"], self.for_discriminator("d", z_real),
                                    self.for_discriminator("d", z.detach()))
        return {**{k: v.detach() for k, v in terms.items()}, "d": d_loss}
