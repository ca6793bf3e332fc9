"""Variational autoencoder (Kingma & Welling 2013, arXiv:1312.6114).

Loss = −E_q[log p(x|z)] + β·KL(q(z|x) ‖ p(z)), q(z|x) = N(mu(x), diag σ²(x)). The KL is in closed
form for a Gaussian prior and a one-sample Monte-Carlo estimate for any other prior (mixture,
swiss roll, uniform), so a VAE and an AAE can be trained on the same prior and compared.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from aae_core import losses
from aae_core.models.base import Autoencoder, ModelConfig, ModelOutput, reparameterize
from aae_core.nets import decoder_net, encoder_net
from aae_core.registry import register_model


@dataclass(frozen=True)
class VAEConfig(ModelConfig):
    beta: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.beta, (int, float)) and self.beta >= 0):
            raise ValueError(f"beta must be a number >= 0, got {self.beta!r}")


@register_model("vae")
class VAE(Autoencoder):
    summary = "Reconstruction plus a KL term that pulls each image's Gaussian q(z|x) toward the prior."
    config_class = VAEConfig
    phases = ("vae",)
    decoder_extra = 0  # decoder inputs besides the code (a one-hot label in the conditional VAE)

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = encoder_net(c, c.input_dim, 2 * c.latent_dim)
        self.decoder = decoder_net(c, c.latent_dim + self.decoder_extra, c.input_dim)

    def _gaussian(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(self._encoder_input(x)).chunk(2, dim=1)  # N×d each
        return mu, logvar.clamp(-30.0, 20.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior means: N×784 → N×d."""
        mu, _ = self._gaussian(self._check(x, self.config.input_dim, "x"))
        return mu

    def forward(self, x: torch.Tensor, labels=None) -> ModelOutput:
        mu, logvar = self._gaussian(self._check(x, self.config.input_dim, "x"))
        z = reparameterize(mu, logvar) if self.training else mu
        return ModelOutput(recon_logits=self.decoder(self._decoder_input(z, labels)), z=z, mu=mu, logvar=logvar)

    def kl(self, out: ModelOutput) -> torch.Tensor:
        spec = self.prior.spec()
        if spec["name"] == "gaussian":
            return losses.gaussian_kl(out.mu, out.logvar, spec["std"])
        return losses.monte_carlo_kl(out.z, out.mu, out.logvar, self.prior.log_prob)

    def phase_parameters(self):
        return {"vae": list(self.parameters())}

    def train_step(self, batch, opts):
        x = batch.x
        out = self(x, batch.y if self.label_input else None)
        recon = losses.bernoulli_recon(out.recon_logits, x)
        kl = self.kl(out)
        loss = recon + self.config.beta * kl
        opts["vae"].zero_grad(set_to_none=True)
        loss.backward()
        opts["vae"].step()
        return {"recon": recon.detach(), "kl": kl.detach()}
