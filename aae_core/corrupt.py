"""Corruptions of an image for the denoising autoencoder (Vincent et al. 2008) and the denoising page.

Every function takes x: N×784 in [0, 1] and a level in [0, 1], and returns a corrupted copy in [0, 1]:
    mask          zero-masking: each pixel set to 0 with probability ``level``;
    salt-pepper   each pixel, with probability ``level``, set to 0 or 1 (even odds);
    gaussian      additive Gaussian noise of standard deviation ``level``, clipped to [0, 1].
The seed tutorial's demo uses 50 % masking or 50 % salt-and-pepper.
"""
from __future__ import annotations

import numpy as np
import torch

CORRUPTIONS = ("mask", "salt-pepper", "gaussian")


def check(kind: str, level: float) -> None:
    if kind not in CORRUPTIONS:
        raise ValueError(f"corruption must be one of {CORRUPTIONS}, got {kind!r}")
    if not isinstance(level, (int, float)) or isinstance(level, bool) or not 0.0 <= level <= 1.0:
        raise ValueError(f"the corruption level must be a number in [0, 1], got {level!r}")


def corrupt(x: torch.Tensor, kind: str, level: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """x: N×784 → N×784, corrupted by ``kind`` at ``level`` (random draws from ``generator``)."""
    check(kind, level)
    draw = lambda: torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)  # noqa: E731
    if kind == "mask":
        return torch.where(draw() < level, torch.zeros_like(x), x)
    if kind == "salt-pepper":
        hit, salt = draw() < level, draw() < 0.5
        return torch.where(hit, salt.to(x.dtype), x)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (x + level * noise).clamp(0.0, 1.0)


@torch.no_grad()
def recovery_curve(model, x: torch.Tensor, kind: str, levels, seed: int = 0) -> list[float]:
    """How far the model's reconstruction of a corrupted x lands from the clean x, per level: the mean
    Bernoulli NLL (nats per image) of x under the decoder's output for corrupt(x). x: N×784.
    Every model sees the same corruptions (one generator seeded per level)."""
    from aae_core import losses
    model.eval()
    out = []
    for level in levels:
        noisy = corrupt(x, kind, float(level), torch.Generator().manual_seed(seed))
        out.append(float(losses.bernoulli_recon(model.reconstruct_logits(noisy), x)))
    return out


@torch.no_grad()
def digit_kept(model, x: torch.Tensor, y: np.ndarray, ref_codes: np.ndarray, ref_labels: np.ndarray, kind: str,
               levels, seed: int = 0, k: int = 5) -> list[float]:
    """Per level, the share of corrupted images x (N×784, labels y) whose code still names their digit:
    the majority label of its k nearest clean codes ``ref_codes`` (M×d, labels ``ref_labels``; other
    images than x) equals its own. Every model sees the same corruptions."""
    model.eval()
    out = []
    for level in levels:
        noisy = corrupt(x, kind, float(level), torch.Generator().manual_seed(seed))
        codes = model.encode(noisy).numpy()  # N×d
        dist = ((codes[:, None, :] - ref_codes[None]) ** 2).sum(-1)  # N×M
        near = np.argpartition(dist, k, axis=1)[:, :k]
        votes = np.apply_along_axis(np.bincount, 1, ref_labels[near], minlength=10)  # N×10
        out.append(float((votes.argmax(1) == y).mean()))
    return out
