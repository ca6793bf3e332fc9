import math

import pytest
import torch
import torch.nn.functional as F

from aae_core import losses
from aae_core.priors import build_prior


def test_gaussian_kl_is_zero_for_the_prior_itself():
    assert losses.gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3)).item() == 0.0
    assert losses.gaussian_kl(torch.zeros(4, 3), torch.full((4, 3), math.log(25.0)), prior_std=5.0).item() == pytest.approx(0, abs=1e-6)


def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(8, 2), torch.randn(8, 2)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(2), torch.full((2,), 5.0))
    expected = torch.distributions.kl_divergence(q, p).sum(-1).mean()
    assert losses.gaussian_kl(mu, logvar, prior_std=5.0).item() == pytest.approx(expected.item(), rel=1e-5)


def test_monte_carlo_kl_averages_to_the_closed_form():
    torch.manual_seed(0)
    mu, logvar = torch.tensor([[1.0, -2.0]]).repeat(200_000, 1), torch.tensor([[0.5, -1.0]]).repeat(200_000, 1)
    z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    prior = build_prior({"name": "gaussian", "std": 2.0})
    mc = losses.monte_carlo_kl(z, mu, logvar, prior.log_prob)
    assert mc.item() == pytest.approx(losses.gaussian_kl(mu, logvar, 2.0).item(), abs=0.01)


def test_gan_losses_at_chance_and_when_confident():
    zeros = torch.zeros(5, 1)
    assert losses.gan_d_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    assert losses.gan_g_loss(zeros).item() == pytest.approx(math.log(2))
    big = torch.full((5, 1), 30.0)
    assert losses.gan_d_loss(big, -big).item() < 1e-10  # a perfect discriminator
    assert losses.gan_g_loss(-big).item() == pytest.approx(30.0, rel=1e-6)  # fooled nobody


def test_bernoulli_recon_sums_pixels_and_averages_images():
    logits, x = torch.randn(3, 784), torch.rand(3, 784)
    per_pixel = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none")
    assert losses.bernoulli_recon(logits, x).item() == pytest.approx(per_pixel.sum().item() / 3, rel=1e-4)
