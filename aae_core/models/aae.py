"""Adversarial autoencoder (Makhzani, Shlens, Jaitly, Goodfellow, Frey 2015, arXiv:1511.05644).

An autoencoder whose aggregated posterior q(z) is matched to the prior p(z) by a GAN on the code.
Per mini-batch: (1) reconstruction phase on encoder+decoder; (2) regularization phase: the
discriminator learns prior samples = real, codes = fake, then the encoder learns to fool it.
Encoder q(z|x): deterministic, Gaussian (reparameterised) or universal approximator f(x, η).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from aae_core import losses
from aae_core.models.base import Autoencoder, ModelConfig, ModelOutput, adam, reparameterize
from aae_core.nets import mlp
from aae_core.registry import register_model

ENCODER_TYPES = ("deterministic", "gaussian", "universal")
ADV_OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class AAEConfig(ModelConfig):
    encoder_type: str = "deterministic"
    noise_dim: int = 8  # size of η for the universal approximator posterior
    disc_hidden: tuple[int, ...] = (1000, 1000)
    # Learning rates and noise that kept the adversarial game balanced on MNIST (docs/training-notes.md).
    # Adam takes steps of about lr whatever the gradient's size, so a generator lr close to the
    # reconstruction lr keeps shaking the encoder even when the discriminator is at chance.
    lr: float = 1e-3  # reconstruction phase (encoder + decoder)
    d_lr: float = 1e-4  # discriminator
    g_lr: float = 1e-4  # encoder as generator
    adv_beta1: float = 0.5
    # "sgd" (with momentum, as in the paper) takes regularization steps that shrink with the gradient
    adv_optimizer: str = "adam"
    adv_momentum: float = 0.9  # for adv_optimizer = "sgd"
    disc_noise: float = 0.3  # std of Gaussian noise added to the discriminator's inputs

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "disc_hidden", tuple(self.disc_hidden))
        if self.encoder_type not in ENCODER_TYPES:
            raise ValueError(f"encoder_type must be one of {ENCODER_TYPES}, got {self.encoder_type!r}")
        if not isinstance(self.noise_dim, int) or self.noise_dim < 1:
            raise ValueError(f"noise_dim must be a positive integer, got {self.noise_dim!r}")
        if not self.disc_hidden or any(not isinstance(h, int) or h < 1 for h in self.disc_hidden):
            raise ValueError(f"disc_hidden must be a non-empty list of positive widths, got {self.disc_hidden!r}")
        if not 0 <= self.adv_beta1 < 1:
            raise ValueError(f"adv_beta1 must be in [0, 1), got {self.adv_beta1!r}")
        if self.adv_optimizer not in ADV_OPTIMIZERS:
            raise ValueError(f"adv_optimizer must be one of {ADV_OPTIMIZERS}, got {self.adv_optimizer!r}")
        if not 0 <= self.adv_momentum < 1:
            raise ValueError(f"adv_momentum must be in [0, 1), got {self.adv_momentum!r}")
        if not self.disc_noise >= 0:
            raise ValueError(f"disc_noise must be >= 0, got {self.disc_noise!r}")


@register_model("aae")
class AAE(Autoencoder):
    config_class = AAEConfig

    def __init__(self, config: AAEConfig) -> None:
        super().__init__(config)
        c = config
        enc_in = c.input_dim + (c.noise_dim if c.encoder_type == "universal" else 0)
        enc_out = 2 * c.latent_dim if c.encoder_type == "gaussian" else c.latent_dim
        self.encoder = mlp(enc_in, c.hidden, enc_out)
        self.decoder = mlp(c.latent_dim, tuple(reversed(c.hidden)), c.input_dim)
        self.discriminator = mlp(c.latent_dim, c.disc_hidden, 1)

    def _posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """x: N×784 → (z, mu, logvar), each N×d (mu, logvar only for the Gaussian encoder).

        z is drawn from q(z|x) in training, and is its mode (Gaussian) or f(x, η=0) in eval mode."""
        c = self.config
        if c.encoder_type == "universal":
            eta = torch.randn(len(x), c.noise_dim, device=x.device) if self.training else x.new_zeros(len(x), c.noise_dim)
            x = torch.cat([x, eta], 1)  # N×(784+noise_dim)
        h = self.encoder(x)
        if c.encoder_type == "gaussian":
            mu, logvar = h.chunk(2, dim=1)  # N×d each
            return (reparameterize(mu, logvar) if self.training else mu), mu, logvar
        return h, None, None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._posterior(self._check(x, self.config.input_dim, "x"))[0]

    def forward(self, x: torch.Tensor) -> ModelOutput:
        z, mu, logvar = self._posterior(self._check(x, self.config.input_dim, "x"))
        return ModelOutput(recon_logits=self.decoder(z), z=z, mu=mu, logvar=logvar)

    def configure_optimizers(self):
        c = self.config

        def adversarial(params, lr):
            if c.adv_optimizer == "sgd":
                return torch.optim.SGD(params, lr=lr, momentum=c.adv_momentum)
            return adam(params, lr, c.adv_beta1)

        return {
            "ae": adam([*self.encoder.parameters(), *self.decoder.parameters()], c.lr),
            "d": adversarial(self.discriminator.parameters(), c.d_lr),
            "g": adversarial(self.encoder.parameters(), c.g_lr),
        }

    def _disc(self, z: torch.Tensor) -> torch.Tensor:
        """Discriminator logits for codes z: N×d → N×1 (input noise in training, if configured)."""
        if self.config.disc_noise > 0:
            z = z + self.config.disc_noise * torch.randn_like(z)
        return self.discriminator(z)

    def train_step(self, x, opts):
        # (1) reconstruction phase: encoder + decoder
        out = self(x)
        recon = losses.bernoulli_recon(out.recon_logits, x)
        opts["ae"].zero_grad(set_to_none=True)
        recon.backward()
        opts["ae"].step()

        # (2a) regularization: discriminator, prior samples real, (detached) codes fake
        z_real, _ = self.prior.sample(len(x))
        z_real = z_real.to(x.device)
        z_fake = out.z.detach()  # codes of this batch from phase (1)
        d_loss = losses.gan_d_loss(self._disc(z_real), self._disc(z_fake))
        opts["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        opts["d"].step()

        # (2b) regularization: encoder as generator, fool the discriminator
        self.discriminator.requires_grad_(False)  # gradients flow through D, not into it
        g_loss = losses.gan_g_loss(self._disc(self._posterior(x)[0]))
        opts["g"].zero_grad(set_to_none=True)
        g_loss.backward()
        opts["g"].step()
        self.discriminator.requires_grad_(True)
        return {"recon": recon.detach(), "d": d_loss.detach(), "g": g_loss.detach()}
