"""Priors p(z) that an AAE can match: anything we can sample.

Every prior returns, with its samples, the index of the component each sample was drawn from
(the label-conditioned AAE pins digit k to component k). ``log_prob`` is exact where a closed form
exists (Gaussian, mixture) and a smoothed density otherwise (swiss roll: a kernel density over the
curve; uniform: the box convolved with a narrow Gaussian), so a VAE's Monte-Carlo KL and the app's
density overlay work with every prior. Definitions: Makhzani et al. 2015 and the public ports
(see ../shared/reference/aae-notes.md).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch

from aae_core.registry import Registry

PRIORS: Registry = Registry("prior", "prior_name")
register_prior = PRIORS.register


def list_priors() -> list[str]:
    return PRIORS.names()


def build_prior(spec: dict | str) -> "Prior":
    """Build a prior from ``{"name": ..., **params}`` (or a bare name with defaults)."""
    if isinstance(spec, str):
        spec = {"name": spec}
    spec = dict(spec)
    try:
        cls = PRIORS.get(spec.pop("name", None))
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    name = cls.prior_name
    allowed = {f.name for f in fields(cls)}
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"prior {name!r} has no parameter(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    return cls(**spec)


@dataclass(frozen=True)
class Prior:
    dim: int = 2

    prior_name = "base"
    n_components = 1

    def __post_init__(self) -> None:
        if not isinstance(self.dim, int) or self.dim < 1:
            raise ValueError(f"dim must be a positive integer, got {self.dim!r}")

    def spec(self) -> dict:
        return {"name": self.prior_name, **asdict(self)}

    def sample(self, n: int, generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (z: n×dim float32, component: n int64), drawn on ``device`` (default: the CPU, or
        the generator's device) so that training on a GPU never copies prior samples from the host."""
        raise NotImplementedError

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """z: n×dim → n log-densities."""
        raise NotImplementedError

    def component_path(self, k: int, n: int) -> torch.Tensor:
        """n×dim points walking through component k along its length (for decoded walks)."""
        raise ValueError(f"the {self.prior_name} prior has no components to walk along")

    def _check_component(self, k: int) -> None:
        if not isinstance(k, int) or not 0 <= k < self.n_components:
            raise ValueError(f"component must be in 0..{self.n_components - 1}, got {k!r}")

    def extent(self) -> tuple[float, float]:
        """A square range [lo, hi] per axis that holds almost all of the mass (for plots, grids)."""
        z, _ = self.sample(20_000, torch.Generator().manual_seed(0))
        lo, hi = torch.quantile(z.flatten(), torch.tensor([0.001, 0.999])).tolist()
        pad = 0.1 * (hi - lo)
        return lo - pad, hi + pad


def _two_d(prior: Prior) -> None:
    if prior.dim != 2:
        raise ValueError(f"the {prior.prior_name} prior is defined in 2-D only, got dim={prior.dim}")


@register_prior("gaussian")
@dataclass(frozen=True)
class GaussianPrior(Prior):
    """N(0, std² I); the public ports of the paper use std = 5."""

    std: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.std > 0:
            raise ValueError(f"std must be > 0, got {self.std!r}")

    def sample(self, n, generator=None, device=None):
        z = torch.randn(n, self.dim, generator=generator, device=device) * self.std
        return z, torch.zeros(n, dtype=torch.long, device=z.device)

    def log_prob(self, z):
        d = z.shape[-1]
        return -0.5 * (z / self.std).pow(2).sum(-1) - d * math.log(self.std) - 0.5 * d * math.log(2 * math.pi)

    def extent(self):
        return -3.5 * self.std, 3.5 * self.std


@register_prior("mixture10")
@dataclass(frozen=True)
class MixturePrior(Prior):
    """k ~ U{0..K-1}; (a, b) ~ N(0, diag(sa², sb²)) rotated by 2πk/K and shifted by radius·(cos, sin)."""

    n_modes: int = 10
    radius: float = 1.4
    std_a: float = 0.5
    std_b: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        _two_d(self)
        if not isinstance(self.n_modes, int) or self.n_modes < 1:
            raise ValueError(f"n_modes must be a positive integer, got {self.n_modes!r}")
        if not (self.std_a > 0 and self.std_b > 0):
            raise ValueError("std_a and std_b must be > 0")

    @property
    def n_components(self) -> int:  # type: ignore[override]
        return self.n_modes

    def _rotations(self) -> tuple[torch.Tensor, torch.Tensor]:
        angle = 2 * math.pi * torch.arange(self.n_modes, dtype=torch.float64) / self.n_modes  # K
        rot = torch.stack([torch.stack([angle.cos(), -angle.sin()], -1),
                           torch.stack([angle.sin(), angle.cos()], -1)], -2)  # K×2×2
        shift = self.radius * torch.stack([angle.cos(), angle.sin()], -1)  # K×2
        return rot, shift

    def sample(self, n, generator=None, device=None):
        k = torch.randint(self.n_modes, (n,), generator=generator, device=device)
        ab = torch.randn(n, 2, generator=generator, device=device) * torch.tensor([self.std_a, self.std_b], device=k.device)
        rot, shift = (t.float().to(k.device) for t in self._rotations())
        z = torch.einsum("nij,nj->ni", rot[k], ab) + shift[k]
        return z, k

    def component_path(self, k, n):
        """Along mode k's long axis, from −2 to +2 standard deviations (std_a): n×2."""
        self._check_component(k)
        rot, shift = (t.float() for t in self._rotations())
        a = torch.linspace(-2 * self.std_a, 2 * self.std_a, n)
        local = torch.stack([a, torch.zeros(n)], 1)  # n×2 in the mode's own axes
        return local @ rot[k].T + shift[k]

    def log_prob(self, z):
        rot, shift = (t.to(z.dtype) for t in self._rotations())
        local = torch.einsum("kji,nkj->nki", rot, z[:, None, :] - shift[None])  # n×K×2, R^T (z - m)
        std = torch.tensor([self.std_a, self.std_b], dtype=z.dtype)
        comp = (-0.5 * (local / std).pow(2).sum(-1) - torch.log(std).sum() - math.log(2 * math.pi))  # n×K
        return torch.logsumexp(comp, -1) - math.log(self.n_modes)

    def extent(self):
        reach = self.radius + 3.5 * self.std_a
        return -reach, reach


@register_prior("swissroll")
@dataclass(frozen=True)
class SwissRollPrior(Prior):
    """Segment k: u = U(0,1)/K + k/K, r = 3√u, θ = 4π√u, z = r(cos θ, sin θ).

    The roll is a curve (no density); ``log_prob`` is a Gaussian kernel density of width
    ``bandwidth`` over a fine, fixed set of points along it.
    """

    n_segments: int = 10
    bandwidth: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        _two_d(self)
        if not isinstance(self.n_segments, int) or self.n_segments < 1:
            raise ValueError(f"n_segments must be a positive integer, got {self.n_segments!r}")
        if not self.bandwidth > 0:
            raise ValueError("bandwidth must be > 0")

    @property
    def n_components(self) -> int:  # type: ignore[override]
        return self.n_segments

    @staticmethod
    def _curve(u: torch.Tensor) -> torch.Tensor:
        r, theta = 3 * u.sqrt(), 4 * math.pi * u.sqrt()
        return torch.stack([r * theta.cos(), r * theta.sin()], -1)

    def component_path(self, k, n):
        """Along segment k of the roll, from its inner to its outer end: n×2."""
        self._check_component(k)
        return self._curve((k + torch.linspace(0.02, 0.98, n)) / self.n_segments)

    def sample(self, n, generator=None, device=None):
        k = torch.randint(self.n_segments, (n,), generator=generator, device=device)
        u = (torch.rand(n, generator=generator, device=device) + k) / self.n_segments
        return self._curve(u), k

    def log_prob(self, z):
        support = self._curve((torch.arange(4000, dtype=z.dtype) + 0.5) / 4000)  # M×2
        d2 = torch.cdist(z, support).pow(2)  # n×M
        h = self.bandwidth
        return torch.logsumexp(-0.5 * d2 / h**2, -1) - math.log(len(support)) - 2 * math.log(h) - math.log(2 * math.pi)

    def extent(self):
        return -3.3, 3.3


@register_prior("uniform")
@dataclass(frozen=True)
class UniformPrior(Prior):
    """U[low, high]^dim. ``log_prob`` is of the box smoothed by N(0, smooth²) per axis."""

    low: float = -2.0
    high: float = 2.0
    smooth: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.high > self.low:
            raise ValueError(f"high ({self.high}) must be > low ({self.low})")
        if not self.smooth > 0:
            raise ValueError("smooth must be > 0")

    def sample(self, n, generator=None, device=None):
        z = self.low + (self.high - self.low) * torch.rand(n, self.dim, generator=generator, device=device)
        return z, torch.zeros(n, dtype=torch.long, device=z.device)

    def log_prob(self, z):
        normal = torch.distributions.Normal(0.0, 1.0)
        mass = normal.cdf((self.high - z) / self.smooth) - normal.cdf((self.low - z) / self.smooth)
        return (mass.clamp_min(1e-30).log() - math.log(self.high - self.low)).sum(-1)

    def extent(self):
        pad = 0.15 * (self.high - self.low)
        return self.low - pad, self.high + pad
