import math

import numpy as np
import pytest
import torch

from aae_core.priors import build_prior, list_priors

G = lambda: torch.Generator().manual_seed(0)  # noqa: E731


def test_registry_lists_the_four_priors():
    assert list_priors() == ["gaussian", "mixture10", "swissroll", "uniform"]


def test_gaussian_statistics():
    z, k = build_prior({"name": "gaussian", "std": 5.0}).sample(200_000, G())
    assert z.shape == (200_000, 2) and (k == 0).all()
    assert z.mean(0).abs().max() < 0.05
    assert torch.allclose(z.std(0), torch.tensor([5.0, 5.0]), atol=0.05)


def test_mixture_components_sit_on_a_circle_with_their_labels():
    prior = build_prior("mixture10")
    z, k = prior.sample(100_000, G())
    assert set(k.tolist()) == set(range(10))
    counts = torch.bincount(k, minlength=10).float()
    assert (counts / len(k) - 0.1).abs().max() < 0.01
    for comp in range(10):
        mean = z[k == comp].mean(0)
        angle = 2 * math.pi * comp / 10
        assert torch.allclose(mean, 1.4 * torch.tensor([math.cos(angle), math.sin(angle)]), atol=0.02)
        # the long axis (std 0.5) points along the angle, the short one (0.05) across it
        local = (z[k == comp] - mean) @ torch.tensor([[math.cos(angle), -math.sin(angle)],
                                                       [math.sin(angle), math.cos(angle)]])
        assert torch.allclose(local.std(0), torch.tensor([0.5, 0.05]), rtol=0.05)


def test_swiss_roll_segments_are_ordered_along_the_roll():
    z, k = build_prior("swissroll").sample(50_000, G())
    radius = z.norm(dim=1)
    for seg in range(10):
        r = radius[k == seg]
        assert r.min() >= 3 * math.sqrt(seg / 10) - 1e-5
        assert r.max() <= 3 * math.sqrt((seg + 1) / 10) + 1e-5


def test_uniform_bounds_and_mean():
    z, _ = build_prior({"name": "uniform", "dim": 3, "low": -1, "high": 3}).sample(100_000, G())
    assert z.shape == (100_000, 3) and z.min() >= -1 and z.max() <= 3
    assert torch.allclose(z.mean(0), torch.ones(3), atol=0.03)


@pytest.mark.parametrize("name", ["gaussian", "mixture10", "swissroll", "uniform"])
def test_2d_densities_integrate_to_one(name):
    prior = build_prior({"name": name, "dim": 2})
    lo, hi = prior.extent()
    lo, hi = lo - 1, hi + 1
    n = 250
    axis = torch.linspace(lo, hi, n, dtype=torch.float64)
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    dens = prior.log_prob(torch.stack([gx.flatten(), gy.flatten()], -1)).exp()
    cell = ((hi - lo) / (n - 1)) ** 2
    assert float(dens.sum() * cell) == pytest.approx(1.0, abs=0.02)


def test_mixture_log_prob_matches_scipy():
    from scipy.stats import multivariate_normal

    prior = build_prior("mixture10")
    z = torch.tensor([[1.4, 0.0], [0.3, -0.7], [-1.2, 0.9]], dtype=torch.float64)
    expected = np.zeros(3)
    for comp in range(10):
        a = 2 * math.pi * comp / 10
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        cov = rot @ np.diag([0.25, 0.0025]) @ rot.T
        expected += 0.1 * multivariate_normal(1.4 * np.array([math.cos(a), math.sin(a)]), cov).pdf(z.numpy())
    np.testing.assert_allclose(prior.log_prob(z).exp().numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("spec, message", [
    ({"name": "nope"}, "unknown prior"),
    ({"name": "gaussian", "std": -1}, "std"),
    ({"name": "mixture10", "dim": 3}, "2-D only"),
    ({"name": "gaussian", "colour": 1}, "no parameter"),
    ({"name": "uniform", "low": 2, "high": 1}, "high"),
])
def test_bad_prior_specs_are_explained(spec, message):
    with pytest.raises(ValueError, match=message):
        build_prior(spec)


@pytest.mark.parametrize("name", ["mixture10", "swissroll"])
def test_component_paths_walk_through_their_own_component(name):
    prior = build_prior(name)
    z, comp = prior.sample(20_000, torch.Generator().manual_seed(0))
    for k in (0, 3, 9):
        path = prior.component_path(k, 12)
        assert path.shape == (12, 2)
        nearest = comp[torch.cdist(path, z).argmin(1)]  # the component of each path point's nearest sample
        assert (nearest == k).float().mean() >= 0.9
    with pytest.raises(ValueError, match="component must be in 0..9"):
        prior.component_path(10, 5)
    with pytest.raises(ValueError, match="no components"):
        build_prior("gaussian").component_path(0, 5)


@pytest.mark.parametrize("name", ["gaussian", "mixture10", "swissroll", "uniform"])
def test_priors_sample_on_the_requested_device(name):
    """Training on a GPU draws prior samples there: no host copy per step ('meta' stands in for it)."""
    z, comp = build_prior(name).sample(7, device="meta")
    assert z.device.type == "meta" and comp.device.type == "meta" and z.shape == (7, 2) and comp.shape == (7,)
