"""Building blocks shared by every adversarially regularised model: the discriminators' widths and
the two steps of the regularization phase (discriminator on detached codes, then the encoder as
generator through a frozen discriminator). Their optimizers and noise come from the recipe."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from aae_core import losses
from aae_core.models.base import ModelConfig, check_widths

@dataclass(frozen=True)
class AdversarialConfig(ModelConfig):
    disc_hidden: tuple[int, ...] = (1000, 1000)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "disc_hidden", tuple(self.disc_hidden))
        check_widths("disc_hidden", self.disc_hidden)


def discriminator_step(disc: nn.Module, opt: torch.optim.Optimizer, real: torch.Tensor,
                       fake: torch.Tensor) -> torch.Tensor:
    """One update of ``disc``: real (prior samples) → 1, fake (detached codes) → 0. Returns the loss."""
    loss = losses.gan_d_loss(disc(real), disc(fake.detach()))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


@contextmanager
def frozen(*modules: nn.Module):
    """Inside: gradients flow through ``modules`` but never reach their own weights."""
    for m in modules:
        m.requires_grad_(False)
    try:
        yield
    finally:
        for m in modules:
            m.requires_grad_(True)


def generator_loss(disc: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss of codes ``fake`` under a frozen ``disc`` (gradients reach the
    encoder through it, never its own weights)."""
    with frozen(disc):
        return losses.gan_g_loss(disc(fake))


def optimizer_step(opt: torch.optim.Optimizer, loss: torch.Tensor) -> torch.Tensor:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()
