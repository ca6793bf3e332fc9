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


def test_mmd_imq_is_zero_for_a_sample_and_itself_and_grows_with_a_shift():
    torch.manual_seed(0)
    x, y = torch.randn(400, 2), torch.randn(400, 2)
    # the same points: the within-sample and cross terms cancel but for the excluded diagonal
    same = losses.mmd_imq(x, x).item()
    assert abs(same) < 0.05
    assert abs(losses.mmd_imq(x, y).item()) < 0.02  # two samples of one distribution: ≈ 0
    shifts = [losses.mmd_imq(x, y + s).item() for s in (0.5, 1.0, 2.0, 4.0)]
    assert shifts == sorted(shifts) and shifts[0] > 0.05


def test_mmd_imq_matches_its_definition_on_two_points_each():
    x, y = torch.tensor([[0.0, 0.0], [1.0, 0.0]]), torch.tensor([[0.0, 2.0], [0.0, 3.0]])
    c = 2 * 2 * 1.0 * 1.0
    k = lambda a, b: c / (c + float(((a - b) ** 2).sum()))  # noqa: E731
    expected = k(x[0], x[1]) + k(y[0], y[1]) - 2 * sum(k(a, b) for a in x for b in y) / 4
    assert losses.mmd_imq(x, y, scales=(1.0,)).item() == pytest.approx(expected, rel=1e-5)
