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
from aae_core.models.adversarial import AdversarialConfig, discriminator_step, generator_loss, optimizer_step
from aae_core.models.base import Autoencoder, ModelOutput, reparameterize
from aae_core.nets import decoder_net, encoder_net, mlp
from aae_core.registry import register_model

ENCODER_TYPES = ("deterministic", "gaussian", "universal")


@dataclass(frozen=True)
class AAEConfig(AdversarialConfig):
    encoder_type: str = "deterministic"
    noise_dim: int = 8  # size of η for the universal approximator posterior

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.encoder_type not in ENCODER_TYPES:
            raise ValueError(f"encoder_type must be one of {ENCODER_TYPES}, got {self.encoder_type!r}")
        if not isinstance(self.noise_dim, int) or self.noise_dim < 1:
            raise ValueError(f"noise_dim must be a positive integer, got {self.noise_dim!r}")


@register_model("aae")
class AAE(Autoencoder):
    summary = ("Reconstruction, plus a discriminator on the code that the encoder learns to fool: the "
               "aggregated posterior q(z) is pushed onto the prior.")
    config_class = AAEConfig
    selection_metric = "prior_swd"
    discriminator_phases = ("d",)
    phases = ("ae", "d", "g")
    default_recipe = "adam-balanced"
    decoder_extra = 0  # decoder inputs besides the code (a one-hot label in the supervised AAE)
    condition_dim = 0  # discriminator inputs besides the code (a one-hot label when conditioned)

    def __init__(self, config: AAEConfig) -> None:
        super().__init__(config)
        c = config
        enc_in = c.input_dim + (c.noise_dim if c.encoder_type == "universal" else 0)
        enc_out = 2 * c.latent_dim if c.encoder_type == "gaussian" else c.latent_dim
        self.encoder = encoder_net(c, enc_in, enc_out)
        self.decoder = decoder_net(c, c.latent_dim + self.decoder_extra, c.input_dim)
        self.discriminator = mlp(c.latent_dim + self.condition_dim, c.disc_hidden, 1)

    def _posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """x: N×784 → (z, mu, logvar), each N×d (mu, logvar only for the Gaussian encoder).

        z is drawn from q(z|x) in training, and is its mode (Gaussian) or f(x, η=0) in eval mode."""
        c = self.config
        x = self._encoder_input(x)
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

    def forward(self, x: torch.Tensor, labels=None) -> ModelOutput:
        z, mu, logvar = self._posterior(self._check(x, self.config.input_dim, "x"))
        return ModelOutput(recon_logits=self.decoder(self._decoder_input(z, labels)), z=z, mu=mu, logvar=logvar)

    def phase_parameters(self):
        return {"ae": [*self.encoder.parameters(), *self.decoder.parameters()],
                "d": list(self.discriminator.parameters()), "g": list(self.encoder.parameters())}

    def _disc_input(self, z: torch.Tensor, component: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """What the discriminator sees of codes z (N×d): the noisy code (conditioned models append a
        label: ``component`` of a prior sample, or ``y`` of an image)."""
        return self.for_discriminator("d", z)

    def train_step(self, batch, opts):
        x = batch.x  # B×784
        # (1) reconstruction phase: encoder + decoder
        out = self(x, batch.y if self.label_input else None)
        recon = optimizer_step(opts["ae"], losses.bernoulli_recon(out.recon_logits, x))

        # (2a) regularization: discriminator, prior samples real, (detached) codes of phase (1) fake
        z_real, component = self.prior.sample(len(x), device=x.device)  # drawn where the model is
        real = self._disc_input(z_real, component, batch.y)
        d_loss = discriminator_step(self.discriminator, opts["d"], real,
                                    self._disc_input(out.z.detach(), None, batch.y))

        # (2b) regularization: encoder as generator, fool the discriminator
        fake = self._disc_input(self._posterior(x)[0], None, batch.y)
        g_loss = optimizer_step(opts["g"], generator_loss(self.discriminator, fake))
        return {"recon": recon, "d": d_loss, "g": g_loss}
