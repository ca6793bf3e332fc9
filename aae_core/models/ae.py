"""Plain autoencoder: an encoder E and a decoder D trained only to reconstruct, −log p(x | D(E(x))).

Nothing says where the codes go, so they spread at whatever scale and shape suits the decoder, with
gaps between the digits: the model the VAE and the AAE improve on. It has no prior; its config's
prior is a reference only (N(0, I)), which ``sample`` decodes to show what sampling an unregularised
code space gives. The denoising, contractive and WAE-MMD autoencoders are this network with one
change to ``objective``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from aae_core import losses
from aae_core.models.base import Autoencoder, ModelConfig, ModelOutput
from aae_core.nets import decoder_net, encoder_net
from aae_core.registry import register_model


@dataclass(frozen=True)
class AEConfig(ModelConfig):
    prior: dict = field(default_factory=lambda: {"name": "gaussian", "std": 1.0})


@register_model("ae")
class AE(Autoencoder):
    summary = "Reconstruction only: nothing says where the codes go."
    config_class = AEConfig
    phases = ("ae",)
    prior_matched = False

    def __init__(self, config: AEConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = encoder_net(c, c.input_dim, c.latent_dim)
        self.decoder = decoder_net(c, c.latent_dim, c.input_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """N×784 → N×d."""
        return self.encoder(self._encoder_input(self._check(x, self.config.input_dim, "x")))

    def forward(self, x: torch.Tensor) -> ModelOutput:
        z = self.encode(x)  # N×d
        return ModelOutput(recon_logits=self.decoder(z), z=z)

    def objective(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The training loss of a batch x (N×784) as named terms; "loss" is what is minimised."""
        recon = losses.bernoulli_recon(self(x).recon_logits, x)
        return {"loss": recon, "recon": recon}

    def phase_parameters(self):
        return {"ae": list(self.parameters())}

    def train_step(self, batch, opts):
        terms = self.objective(batch.x)
        opts["ae"].zero_grad(set_to_none=True)
        terms.pop("loss").backward()
        opts["ae"].step()
        return {k: v.detach() for k, v in terms.items()}
