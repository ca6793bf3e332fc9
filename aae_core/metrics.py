"""Evaluation metrics: reconstruction error, k-NN accuracy of codes, prior-match distance."""
from __future__ import annotations

import numpy as np
import torch

from aae_core import losses


@torch.no_grad()
def encode_all(model, x: torch.Tensor, batch: int = 2000) -> torch.Tensor:
    """x: N×784 → N×d codes, in batches."""
    return torch.cat([model.encode(x[i:i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def reconstruction_error(model, x: torch.Tensor, batch: int = 2000, labels: torch.Tensor | None = None) -> dict[str, float]:
    """Mean per-image Bernoulli NLL (nats, summed over 784 pixels) and mean per-pixel squared error.
    ``labels`` (N): for models that reconstruct from an image's given label (the supervised AAE)."""
    bce, mse = 0.0, 0.0
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        logits = model.reconstruct_logits(xb, None if labels is None else labels[i:i + batch])
        bce += losses.bernoulli_recon(logits, xb).item() * len(xb)
        mse += (torch.sigmoid(logits) - xb).pow(2).mean(-1).sum().item()
    return {"recon_bce": bce / len(x), "recon_mse": mse / len(x)}


def knn_accuracy(train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray,
                 test_labels: np.ndarray, k: int = 5) -> float:
    """Accuracy of a k-NN classifier fit on training codes, scored on test codes."""
    from sklearn.neighbors import KNeighborsClassifier  # here, not at import: ~140 MB the app never needs
    clf = KNeighborsClassifier(n_neighbors=k).fit(train_codes, train_labels)
    return float((clf.predict(test_codes) == test_labels).mean())


def linear_accuracy(train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray,
                    test_labels: np.ndarray) -> float:
    """Accuracy of a linear classifier (multinomial logistic regression on standardised codes) fit on
    training codes, scored on test codes: how linearly the code separates the digits."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(train_codes, train_labels)
    return float((clf.predict(test_codes) == test_labels).mean())


# Code metrics a family asks for beyond the common ones (``Autoencoder.extra_metrics``), by card key:
# (train codes, train labels, test codes, test labels) → a number.
CODE_METRICS = {
    "knn1_accuracy": lambda a, y, b, t: knn_accuracy(a, y, b, t, k=1),
    "linear_accuracy": linear_accuracy,
}


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


@torch.no_grad()
def prior_mmd(codes: torch.Tensor, prior, n: int = 2000, seed: int = 0) -> float:
    """A second, independent prior-match measure: the unbiased MMD² (IMQ kernel over seven scales)
    between n codes and n prior samples, both divided by the prior's root-mean-square coordinate so
    that the kernel's scales mean the same on every prior (lower is better; ≈ 0 when matched)."""
    g = torch.Generator().manual_seed(seed)
    z, _ = prior.sample(n, g)
    pick = torch.randperm(len(codes), generator=g)[:n]
    rms = z.pow(2).mean().sqrt()
    return float(losses.mmd_imq(codes[pick].double() / rms, z.double() / rms))


@torch.no_grad()
def class_probs_all(model, x: torch.Tensor, batch: int = 2000) -> torch.Tensor:
    """q(y|x) of a model with a categorical code: N×784 → N×K (CPU float32)."""
    return torch.cat([model.class_probs(x[i:i + batch]).float().cpu() for i in range(0, len(x), batch)])


def classification_error(probs: torch.Tensor, labels: np.ndarray) -> float:
    """Share of images whose most probable class is not their label."""
    return float((probs.argmax(1).numpy() != labels).mean())


def cluster_label_map(probs: torch.Tensor, labels: np.ndarray, rule: str) -> np.ndarray:
    """The label each of the K clusters stands for, read off labelled (validation) images.

    "paper": the label of the image with the highest q(y_k|x) (Makhzani et al. 2015, §6);
    "majority": the most common label among the images assigned to cluster k (argmax q(y|x));
    a cluster no image is assigned to takes the paper rule's label."""
    best = probs.argmax(0).numpy()  # K: most confident image of each cluster
    mapping = labels[best].astype(np.int64)
    if rule == "majority":
        assign = probs.argmax(1).numpy()
        for k in range(probs.shape[1]):
            members = labels[assign == k]
            if len(members):
                mapping[k] = np.bincount(members).argmax()
    elif rule != "paper":
        raise ValueError(f"rule must be 'paper' or 'majority', got {rule!r}")
    return mapping


def cluster_error(probs: torch.Tensor, labels: np.ndarray, mapping: np.ndarray) -> float:
    """Share of images whose cluster's label (``mapping``) is not their own."""
    return float((mapping[probs.argmax(1).numpy()] != labels).mean())


def cluster_purity(probs: torch.Tensor, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster: size (images assigned) and purity (share of its most common label; 0 if empty)."""
    assign = probs.argmax(1).numpy()
    sizes = np.bincount(assign, minlength=probs.shape[1])
    purity = np.array([np.bincount(labels[assign == k]).max() / s if s else 0.0 for k, s in enumerate(sizes)])
    return sizes, purity


def _parzen_d2(samples: torch.Tensor, x: torch.Tensor, batch: int):
    """Squared distances of each batch of rows of x (b×D) to every sample (S×D): yields b×S, float64."""
    s = samples.double()
    s_sq = s.pow(2).sum(1)  # S
    for i in range(0, len(x), batch):
        xb = x[i:i + batch].double()
        yield (xb.pow(2).sum(1, keepdim=True) - 2 * xb @ s.T + s_sq).clamp_min(0)


def _parzen_from_d2(d2: torch.Tensor, n_samples: int, d: int, sigma: float) -> torch.Tensor:
    const = -np.log(n_samples) - 0.5 * d * np.log(2 * np.pi * sigma**2)
    return torch.logsumexp(-d2 / (2 * sigma**2), 1) + const


@torch.no_grad()
def parzen_log_likelihood(samples: torch.Tensor, x: torch.Tensor, sigma: float, batch: int = 500) -> torch.Tensor:
    """Log-density of each row of x (N×D) under an isotropic Gaussian kernel density of width sigma
    centred on ``samples`` (S×D): log (1/S) Σ_s N(x; s, σ²I). Returns N values (nats), float64."""
    return torch.cat([_parzen_from_d2(d2, len(samples), x.shape[1], sigma)
                      for d2 in _parzen_d2(samples, x, batch)])


# 25 widths from 0.05 to 0.5, ×1.1 apart: fine enough that a miss costs well under a nat, and wide
# enough that the best width lies inside (the search widens the grid should it fall on an edge).
PARZEN_SIGMAS = tuple(float(s) for s in np.round(np.logspace(np.log10(0.05), np.log10(0.5), 25), 5))


@torch.no_grad()
def parzen_select_sigma(samples: torch.Tensor, x_val: torch.Tensor, sigmas=PARZEN_SIGMAS,
                        batch: int = 250) -> tuple[float, dict]:
    """The kernel width with the highest mean validation log-likelihood, and every width's score.
    Distances are computed once for all widths; while the best width sits on the grid's edge the
    grid is extended by the same step, up to 100 times, so that the chosen width is an interior
    optimum (past that cap it may sit on the edge: the returned scores show it)."""
    d2 = list(_parzen_d2(samples, x_val, batch))
    score = lambda s: float(torch.cat([_parzen_from_d2(b, len(samples), x_val.shape[1], s) for b in d2]).mean())  # noqa: E731
    sigmas = sorted(float(s) for s in sigmas)
    scores = {s: score(s) for s in sigmas}
    ratio = sigmas[1] / sigmas[0] if len(sigmas) > 1 else 1.1
    for _ in range(100):
        best, grid = max(scores, key=scores.get), sorted(scores)
        if best == grid[0]:
            new = grid[0] / ratio
        elif best == grid[-1]:
            new = grid[-1] * ratio
        else:
            break
        scores[new] = score(new)
    return max(scores, key=scores.get), dict(sorted(scores.items()))


def parzen_score(samples: torch.Tensor, val_x: torch.Tensor, test_x: torch.Tensor) -> dict:
    """The GAN paper's Parzen protocol on any samples (S×D): σ chosen on (the first 1,000) validation
    images, then the mean log-likelihood of the test images ± its standard error, and the grid tried."""
    sigma, scores = parzen_select_sigma(samples, val_x[:1000])
    ll = parzen_log_likelihood(samples, test_x, sigma)
    return {"parzen_ll": float(ll.mean()), "parzen_se": float(ll.std() / np.sqrt(len(ll))), "parzen_sigma": sigma,
            "parzen_sigma_grid": [min(scores), max(scores), len(scores)]}


def conditional_prior_match(codes: torch.Tensor, labels: np.ndarray, prior, seed: int = 0) -> float:
    """Label-conditioned regularization: mean over classes k of the sliced Wasserstein distance
    between the codes of class k and samples of the prior's component k (lower: each digit sits on
    its own component)."""
    g = torch.Generator().manual_seed(seed)
    z, comp = prior.sample(20 * len(codes), g)
    out = []
    for k in range(prior.n_components):
        mine = codes[torch.from_numpy(labels == k)]
        theirs = z[comp == k][:len(mine)]
        if len(mine) and len(theirs) == len(mine):
            out.append(sliced_wasserstein(mine.float(), theirs, seed=seed))
    return float(np.mean(out))


def sharpness(images) -> float:
    """How crisp images are: the variance of their discrete Laplacian (the usual blur measure),
    averaged over the images. images: N×784 in [0, 1]. 0 for a blank or uniform image; blurring lowers it."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32)).reshape(-1, 1, 28, 28)
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).reshape(1, 1, 3, 3)
    lap = torch.nn.functional.conv2d(x, kernel)  # N×1×26×26
    return float(lap.flatten(1).var(1, unbiased=False).mean())
