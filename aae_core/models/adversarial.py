"""Building blocks shared by every adversarially regularised model: the regularization
hyper-parameters, their optimizers, and the two steps of the regularization phase (discriminator on
detached codes, then the encoder as generator through a frozen discriminator)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from aae_core import losses
from aae_core.models.base import ModelConfig, adam, check_widths

ADV_OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class AdversarialConfig(ModelConfig):
    disc_hidden: tuple[int, ...] = (1000, 1000)
    # Learning rates and noise that kept the adversarial game balanced on MNIST (docs/training-notes.md).
    # Adam takes steps of about lr whatever the gradient's size, so a generator lr close to the
    # reconstruction lr keeps shaking the encoder even when the discriminator is at chance.
    lr: float = 1e-3  # reconstruction phase (encoder + decoder)
    d_lr: float = 1e-4  # discriminator(s)
    g_lr: float = 1e-4  # encoder as generator
    adv_beta1: float = 0.5
    # "sgd" (with momentum, as in the paper) takes regularization steps that shrink with the gradient
    adv_optimizer: str = "adam"
    adv_momentum: float = 0.9  # for adv_optimizer = "sgd"
    disc_noise: float = 0.3  # std of Gaussian noise added to the discriminators' code inputs

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "disc_hidden", tuple(self.disc_hidden))
        check_widths("disc_hidden", self.disc_hidden)
        if not 0 <= self.adv_beta1 < 1:
            raise ValueError(f"adv_beta1 must be in [0, 1), got {self.adv_beta1!r}")
        if self.adv_optimizer not in ADV_OPTIMIZERS:
            raise ValueError(f"adv_optimizer must be one of {ADV_OPTIMIZERS}, got {self.adv_optimizer!r}")
        if not 0 <= self.adv_momentum < 1:
            raise ValueError(f"adv_momentum must be in [0, 1), got {self.adv_momentum!r}")
        if not self.disc_noise >= 0:
            raise ValueError(f"disc_noise must be >= 0, got {self.disc_noise!r}")


def adversarial_optimizer(params, lr: float, config: AdversarialConfig) -> torch.optim.Optimizer:
    if config.adv_optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.adv_momentum)
    return adam(params, lr, config.adv_beta1)


def noisy(z: torch.Tensor, std: float) -> torch.Tensor:
    """Discriminator input noise (N×d → N×d); a no-op when std is 0."""
    return z + std * torch.randn_like(z) if std > 0 else z


def discriminator_step(disc: nn.Module, opt: torch.optim.Optimizer, real: torch.Tensor,
                       fake: torch.Tensor) -> torch.Tensor:
    """One update of ``disc``: real (prior samples) → 1, fake (detached codes) → 0. Returns the loss."""
    loss = losses.gan_d_loss(disc(real), disc(fake.detach()))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def generator_loss(disc: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss of codes ``fake`` under a frozen ``disc`` (gradients reach the
    encoder through it, never its own weights)."""
    disc.requires_grad_(False)
    try:
        return losses.gan_g_loss(disc(fake))
    finally:
        disc.requires_grad_(True)


def optimizer_step(opt: torch.optim.Optimizer, loss: torch.Tensor) -> torch.Tensor:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()
