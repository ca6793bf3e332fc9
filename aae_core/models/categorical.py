"""The shared core of the AAEs with a categorical code (Makhzani et al. 2015, §5–7).

The encoder q(y, z | x) outputs a softmax y over K classes or clusters and a continuous style z;
the decoder reconstructs x from both. Two adversarial networks regularise the codes: one matches
y to the categorical distribution Cat(K) (prior samples are one-hot vectors), one matches z to the
prior (a Gaussian). Per mini-batch: (1) reconstruction phase; (2) regularization phase, both
discriminators then the encoder as generator; (3) a semi-supervised phase — cross-entropy of q(y|x)
on a batch of labelled images — whenever labelled images were given.

Subclasses: the semi-supervised AAE (``classify``), the unsupervised clustering AAE (``cluster``)
and the dimensionality-reduction AAE (2-D representation W·y + z).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from aae_core import losses
from aae_core.models.adversarial import AdversarialConfig, discriminator_step, generator_loss, optimizer_step
from aae_core.models.base import Autoencoder, ModelOutput, check_positive_int
from aae_core.nets import decoder_net, encoder_net, mlp


@dataclass(frozen=True)
class CategoricalAAEConfig(AdversarialConfig):
    latent_dim: int = 10  # style z
    prior: dict = field(default_factory=lambda: {"name": "gaussian", "std": 1.0})
    n_classes: int = 10  # K: classes (semi-supervised) or clusters (unsupervised)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int("n_classes", self.n_classes)
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {self.n_classes}")


class CategoricalAAE(Autoencoder):
    config_class = CategoricalAAEConfig
    inference_modules = ("encoder", "decoder")
    training_labels = "pool"
    label_input = True
    categorical_code = True
    discriminator_phases = ("d_y", "d_z")
    phases = ("ae", "d_y", "d_z", "g", "xent")  # xent: when labelled images are given
    default_recipe = "adam-balanced"

    def __init__(self, config: CategoricalAAEConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = encoder_net(c, c.input_dim, c.n_classes + c.latent_dim)  # → [y logits | z]
        self.decoder = decoder_net(c, self._decoder_width(), c.input_dim)
        self.disc_y = mlp(c.n_classes, c.disc_hidden, 1)
        self.disc_z = mlp(c.latent_dim, c.disc_hidden, 1)

    @property
    def n_classes(self) -> int:
        return self.config.n_classes

    def _decoder_width(self) -> int:
        return self.config.n_classes + self.config.latent_dim

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: N×784 → (y logits N×K, style z N×d)."""
        h = self.encoder(self._encoder_input(self._check(x, self.config.input_dim, "x")))
        return h[:, :self.config.n_classes], h[:, self.config.n_classes:]

    def class_probs(self, x: torch.Tensor) -> torch.Tensor:
        """q(y|x): N×784 → N×K probabilities."""
        return F.softmax(self._heads(x)[0], -1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The style code z: N×784 → N×d."""
        return self._heads(x)[1]

    def _decoder_input(self, z: torch.Tensor, labels) -> torch.Tensor:
        """z: N×d and y (ints or probabilities) → N×(K+d)."""
        return torch.cat([self._label_one_hot(labels, len(z)), z], 1)

    def reconstruct_logits(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        """Reconstruct from the model's own q(y|x) (or the given labels) and z."""
        logits, z = self._heads(x)
        return self.decoder(self._decoder_input(z, F.softmax(logits, -1) if labels is None else labels))

    def forward(self, x: torch.Tensor) -> ModelOutput:
        logits, z = self._heads(x)
        y = F.softmax(logits, -1)  # N×K
        return ModelOutput(recon_logits=self.decoder(self._combine(y, z)), z=z, y_logits=logits)

    def _combine(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Decoder input from a soft y (N×K) and z (N×d)."""
        return torch.cat([y, z], 1)

    def _reconstruction_params(self) -> list[torch.nn.Parameter]:
        return [*self.encoder.parameters(), *self.decoder.parameters()]

    def _reconstruction_loss(self, out: ModelOutput, x: torch.Tensor) -> torch.Tensor:
        return losses.bernoulli_recon(out.recon_logits, x)

    def phase_parameters(self):
        phases = {"ae": self._reconstruction_params(), "d_y": list(self.disc_y.parameters()),
                  "d_z": list(self.disc_z.parameters()), "g": list(self.encoder.parameters())}
        if "xent" in self.phases:  # a cross-entropy phase whenever labelled images are given
            phases["xent"] = list(self.encoder.parameters())
        return phases

    def train_step(self, batch, opts):
        x, c = batch.x, self.config  # B×784
        # (1) reconstruction phase
        out = self(x)
        recon = optimizer_step(opts["ae"], self._reconstruction_loss(out, x))

        # (2a) regularization: one discriminator per code, prior samples real, codes of (1) fake
        y_real = F.one_hot(torch.randint(c.n_classes, (len(x),), device=x.device), c.n_classes).to(x.dtype)
        z_real = self.prior.sample(len(x), device=x.device)[0]
        d_y = discriminator_step(self.disc_y, opts["d_y"], self.for_discriminator("d_y", y_real),
                                 self.for_discriminator("d_y", F.softmax(out.y_logits.detach(), -1)))
        d_z = discriminator_step(self.disc_z, opts["d_z"], self.for_discriminator("d_z", z_real),
                                 self.for_discriminator("d_z", out.z.detach()))

        # (2b) regularization: the encoder fools both
        logits, z = self._heads(x)
        g = optimizer_step(opts["g"], generator_loss(self.disc_y, self.for_discriminator("d_y", F.softmax(logits, -1)))
                           + generator_loss(self.disc_z, self.for_discriminator("d_z", z)))
        result = {"recon": recon, "d_y": d_y, "d_z": d_z, "g": g}

        # (3) semi-supervised phase: cross-entropy of q(y|x) on a labelled batch
        if batch.x_lab is not None:
            result["xent"] = optimizer_step(opts["xent"], losses.cross_entropy(self._heads(batch.x_lab)[0], batch.y_lab))
        return result
