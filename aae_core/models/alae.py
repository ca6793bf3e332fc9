"""Adversarial latent autoencoder (Pidhorskyi, Adjeroh, Doretto 2020, arXiv:2004.04467), with MLPs.

Four networks: a mapping F: z → w, a generator G: w → x (the decoder), an encoder E: x → w, and a
discriminator D on w. The adversarial game is played in the latent space w, and the autoencoder
closes there too (latent reciprocity), never in pixels:
    D step (E, D):  softplus(D(E(G(F(z))))) + softplus(−D(E(x))) + (γ/2)·‖∇ₓ D(E(x))‖²  (R1 on real images)
    G step (F, G):  softplus(−D(E(G(F(z)))))
    E–G step:       ‖F(z) − E(G(F(z)))‖²   (or its mean over the d dims: ``reciprocity="mean"``)
Its code is w = E(x); samples are G(F(z)), z ~ p(z). Nothing pulls w toward p(z) itself (the codes
are matched to F's image of it), so maps span the codes. As its authors do, it is scored by the 1-NN
and linear-classifier accuracy of its codes. Leaky ReLUs are replaced by this project's ReLU MLPs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from aae_core.losses import squared_error
from aae_core.models.adversarial import AdversarialConfig, frozen
from aae_core.models.base import Autoencoder, ModelOutput, check_non_negative, check_positive_int
from aae_core.nets import decoder_net, encoder_net, mlp
from aae_core.registry import register_model


@dataclass(frozen=True)
class ALAEConfig(AdversarialConfig):
    prior: dict = field(default_factory=lambda: {"name": "gaussian", "std": 1.0})
    mapping_layers: int = 3  # layers of F (the paper's MNIST MLP: 6)
    mapping_width: int = 0  # F's hidden width (0: the code's own width, d; public MLP ports: 1024)
    r1_gamma: float = 10.0  # γ of the R1 penalty on real images
    reciprocity: str = "sum"  # ‖F(z) − E(G(F(z)))‖² summed over the code's dims ("sum", the paper's) or
    # averaged over them ("mean", the public MLP ports' mean squared error: 1/d of it)
    code_norm: bool = False  # E's and F's outputs divided by their root mean square over the code's dims
    # (StyleGAN's pixel norm): the code's scale, which nothing else anchors, cannot drift

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int("mapping_layers", self.mapping_layers)
        check_non_negative("mapping_width", self.mapping_width)
        check_non_negative("r1_gamma", self.r1_gamma)
        if self.reciprocity not in ("sum", "mean"):
            raise ValueError(f"reciprocity must be 'sum' or 'mean', got {self.reciprocity!r}")


@register_model("alae")
class ALAE(Autoencoder):
    config_class = ALAEConfig
    summary = ("A GAN whose discriminator looks at the encoder's code: the game and the reconstruction both happen in "
               "the latent space w (latent reciprocity), never in pixels.")
    inference_modules = ("encoder", "decoder", "mapping")
    phases = ("d", "g", "eg")
    default_recipe = "alae"
    prior_matched = False  # w is matched to F's image of p(z), not to p(z)
    extra_metrics = ("knn1_accuracy", "linear_accuracy")  # the authors' evaluation of the codes

    def __init__(self, config: ALAEConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = encoder_net(c, c.input_dim, c.latent_dim)  # E: x → w
        self.decoder = decoder_net(c, c.latent_dim, c.input_dim)  # G: w → x (logits)
        width = c.mapping_width or c.latent_dim
        self.mapping = mlp(c.latent_dim, (width,) * (c.mapping_layers - 1), c.latent_dim)  # F: z → w
        self.discriminator = mlp(c.latent_dim, c.disc_hidden, 1)  # D: w → real/fake

    def _norm(self, w: torch.Tensor) -> torch.Tensor:
        """N×d codes, each row scaled to a root mean square of 1 where ``code_norm`` (else as they are)."""
        return w * torch.rsqrt(w.pow(2).mean(1, keepdim=True) + 1e-8) if self.config.code_norm else w

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """N×784 → N×d codes w = E(x)."""
        return self._norm(self.encoder(self._encoder_input(self._check(x, self.config.input_dim, "x"))))

    def map(self, z: torch.Tensor) -> torch.Tensor:
        """N×d prior samples → N×d codes w = F(z)."""
        return self._norm(self.mapping(z))

    def forward(self, x: torch.Tensor) -> ModelOutput:
        w = self.encode(x)
        return ModelOutput(recon_logits=self.decoder(w), z=w)

    def _decode_prior_sample(self, z, labels, generator):
        """Prior samples z (n×d) → images G(F(z))."""
        return self.decode(self.map(z), labels)

    def phase_parameters(self):
        return {"d": [*self.encoder.parameters(), *self.discriminator.parameters()],
                "g": [*self.mapping.parameters(), *self.decoder.parameters()],
                "eg": [*self.encoder.parameters(), *self.decoder.parameters()]}

    def _fake(self, n: int, device) -> torch.Tensor:
        """n generated images G(F(z)), z ~ p(z): n×784 in [0, 1]."""
        z, _ = self.prior.sample(n, device=device)
        return torch.sigmoid(self.decoder(self.map(z)))

    def train_step(self, batch, opts):
        x = batch.x.detach().requires_grad_(True)  # B×784, for R1
        # D step: E and D tell real images' codes from generated ones', R1 on the real
        real = self.discriminator(self.encode(x))
        fake = self.discriminator(self.encode(self._fake(len(x), x.device).detach()))
        (grad,) = torch.autograd.grad(real.sum(), x, create_graph=True)  # B×784
        r1 = grad.pow(2).sum(1).mean()
        d_loss = F.softplus(fake).mean() + F.softplus(-real).mean() + 0.5 * self.config.r1_gamma * r1
        opts["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        opts["d"].step()
        # G step: F and G make images whose codes E and D (frozen) take for real
        with frozen(self.encoder, self.discriminator):
            g_loss = F.softplus(-self.discriminator(self.encode(self._fake(len(x), x.device)))).mean()
        opts["g"].zero_grad(set_to_none=True)
        g_loss.backward()
        opts["g"].step()
        # E–G step: latent reciprocity, w = F(z) fixed
        z, _ = self.prior.sample(len(x), device=x.device)
        w = self.map(z).detach()  # B×d
        recip = squared_error(self.encode(torch.sigmoid(self.decoder(w))), w)  # summed over the d dims
        if self.config.reciprocity == "mean":
            recip = recip / w.shape[1]
        opts["eg"].zero_grad(set_to_none=True)
        recip.backward()
        opts["eg"].step()
        return {"d": d_loss.detach(), "g": g_loss.detach(), "recip": recip.detach(), "r1": r1.detach()}
