"""Pure loss functions. Each takes tensors and returns a scalar tensor (mean over the batch)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def bernoulli_recon(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """−log p(x|z) for Bernoulli pixels: BCE summed over pixels, mean over the batch.

    logits, x: N×784 (x in [0, 1]).
    """
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1).mean()


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor, prior_std: float = 1.0) -> torch.Tensor:
    """Closed-form KL(N(mu, e^logvar) ‖ N(0, prior_std² I)), summed over dims, mean over the batch."""
    var_ratio = logvar.exp() / prior_std**2
    kl = 0.5 * (mu.pow(2) / prior_std**2 + var_ratio - var_ratio.log() - 1)  # N×d
    return kl.sum(-1).mean()


def gaussian_log_prob(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, e^logvar) summed over dims: N×d → N."""
    return -0.5 * (logvar + (z - mu).pow(2) / logvar.exp() + math.log(2 * math.pi)).sum(-1)


def monte_carlo_kl(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, prior_log_prob) -> torch.Tensor:
    """One-sample estimate of KL(q(z|x) ‖ p(z)) = E_q[log q(z|x) − log p(z)], z ~ q(z|x): N×d."""
    return (gaussian_log_prob(z, mu, logvar) - prior_log_prob(z)).mean()


def gan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator: prior samples are real (1), encoder codes are fake (0)."""
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def gan_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator (encoder), non-saturating: make codes look real."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def head_distance_penalty(heads: torch.Tensor, margin: float) -> torch.Tensor:
    """Dimensionality-reduction AAE: push cluster heads apart. heads: K×d (or N×K×d: N models' heads,
    one penalty each).

    Σ over pairs i < j of max(0, margin − ‖h_i − h_j‖): zero once every pair is ``margin`` apart.
    """
    k = heads.shape[-2]
    i, j = torch.triu_indices(k, k, offset=1, device=heads.device)
    dist = (heads[..., i, :] - heads[..., j, :]).pow(2).sum(-1).clamp_min(1e-12).sqrt()  # (N×) pairs
    return F.relu(margin - dist).sum(-1)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Semi-supervised phase: −log q(y = label | x), mean over the batch. logits: N×K, labels: N."""
    return F.cross_entropy(logits, labels)


IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def mmd_imq(x: torch.Tensor, y: torch.Tensor, sigma2: float = 1.0, scales=IMQ_SCALES) -> torch.Tensor:
    """Unbiased squared maximum mean discrepancy between samples x (N×d) and y (M×d) under the
    inverse multiquadratics kernel k(a, b) = C / (C + ‖a − b‖²), summed over C = 2·d·σ²·s for each
    scale s (the WAE paper's choice, Tolstikhin et al. 2018). 0 in expectation when x and y share a
    distribution; the diagonal terms k(a, a) are left out of the within-sample means."""
    n, m, d = len(x), len(y), x.shape[1]
    dxx, dyy, dxy = torch.cdist(x, x).pow(2), torch.cdist(y, y).pow(2), torch.cdist(x, y).pow(2)
    total = x.new_zeros(())
    for s in scales:
        c = 2 * d * sigma2 * s
        kxx, kyy, kxy = c / (c + dxx), c / (c + dyy), c / (c + dxy)
        total = total + (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1)) \
            + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * kxy.mean()
    return total


def squared_error(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """‖x − x̂‖² summed over pixels, mean over the batch (the WAE paper's cost c). recon, x: N×784."""
    return (recon - x).pow(2).sum(-1).mean()


def jacobian_frobenius(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The contractive penalty ‖∂z/∂x‖²_F (Rifai et al. 2011), mean over the batch, differentiable.

    z: N×d computed from x: N×D (x.requires_grad). Row n of z depends on row n of x only, so the
    gradient of Σ_n z[n, k] is the Jacobian's k-th row for every image at once: d backward passes."""
    total = z.new_zeros(())
    for k in range(z.shape[1]):
        (row,) = torch.autograd.grad(z[:, k].sum(), x, create_graph=True)  # N×D: ∂z_k/∂x per image
        total = total + row.pow(2).sum()
    return total / len(z)
