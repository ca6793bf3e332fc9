"""Evaluation metrics: reconstruction error, k-NN accuracy of codes, prior-match distance."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.neighbors import KNeighborsClassifier

from aae_core import losses


@torch.no_grad()
def encode_all(model, x: torch.Tensor, batch: int = 2000) -> torch.Tensor:
    """x: N×784 → N×d codes, in batches."""
    return torch.cat([model.encode(x[i:i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def reconstruction_error(model, x: torch.Tensor, batch: int = 2000) -> dict[str, float]:
    """Mean per-image Bernoulli NLL (nats, summed over 784 pixels) and mean per-pixel squared error."""
    bce, mse = 0.0, 0.0
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        logits = model.decode_logits(model.encode(xb))
        bce += losses.bernoulli_recon(logits, xb).item() * len(xb)
        mse += (torch.sigmoid(logits) - xb).pow(2).mean(-1).sum().item()
    return {"recon_bce": bce / len(x), "recon_mse": mse / len(x)}


def knn_accuracy(train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray,
                 test_labels: np.ndarray, k: int = 5) -> float:
    """Accuracy of a k-NN classifier fit on training codes, scored on test codes."""
    clf = KNeighborsClassifier(n_neighbors=k).fit(train_codes, train_labels)
    return float((clf.predict(test_codes) == test_labels).mean())


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, n_projections: int = 256, seed: int = 0) -> float:
    """Sliced 2-Wasserstein distance between two equal-size point sets (N×d each).

    sqrt( mean over random unit directions θ of W2²(θ·a, θ·b) ), 1-D W2 from sorted projections.
    """
    if a.shape != b.shape:
        raise ValueError(f"point sets must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(a.shape[1], n_projections, generator=g, dtype=torch.float64)
    theta /= theta.norm(dim=0, keepdim=True)  # d×P unit directions
    pa = (a.double() @ theta).sort(0).values  # N×P
    pb = (b.double() @ theta).sort(0).values
    return float((pa - pb).pow(2).mean().sqrt())


def prior_match(codes: torch.Tensor, prior, seed: int = 0) -> float:
    """Sliced Wasserstein distance between codes and as many prior samples (fixed seed)."""
    z, _ = prior.sample(len(codes), torch.Generator().manual_seed(seed))
    return sliced_wasserstein(codes.float(), z, seed=seed)
