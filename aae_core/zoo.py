"""The model zoo: every shipped family side by side on the same test digits — reconstructions, its map
(the 2-D code or its stored UMAP), decoded prior samples, and the numbers that compare them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from aae_core import latent, metrics, projections
from aae_core.card import Card
from aae_core.registry import get_model_class

N_SAMPLES = 16  # decoded prior samples per model (4×4), seed 0


def representatives(cards: dict[str, Card | dict]) -> list[str]:
    """One shipped model per family, families in the cards' order: its 2-D model where it has one,
    the MLP before a convolutional variant (the family as the paper draws it), else the first."""
    cards = {n: Card.of(c) for n, c in cards.items()}

    def rank(name: str) -> tuple[bool, bool]:
        return cards[name].latent_dim != 2, cards[name].arch != "mlp"

    chosen: dict[str, str] = {}
    for name, card in cards.items():
        if card.model not in chosen or rank(name) < rank(chosen[card.model]):
            chosen[card.model] = name
    return list(chosen.values())


def first_of_each_digit(labels: np.ndarray) -> np.ndarray:
    """Indices of the first test image of each digit 0–9 (the zoo's common row of inputs)."""
    return np.array([int(np.flatnonzero(labels == d)[0]) for d in range(10)])


@dataclass
class Panel:
    recon: np.ndarray  # 10×784 reconstructions of the common inputs, in [0, 1]
    samples: np.ndarray  # N_SAMPLES×784 decoded prior samples
    map_image: np.ndarray  # size×size×3: the codes (or their UMAP) coloured by digit
    map_kind: str  # "code", "umap" or "pca"
    sharpness: float  # of the decoded prior samples (metrics.sharpness)


@torch.no_grad()
def panel(model, inputs: torch.Tensor, input_labels: np.ndarray, codes: np.ndarray, labels: np.ndarray,
          projection: dict[str, np.ndarray] | None, size: int = 240) -> Panel:
    """A model's zoo panel. inputs: 10×784 with their labels; codes: the test codes N×d with labels N;
    projection: the stored 2-D maps of codes above 2-D ({"umap": N×2, "pca": N×2}) or None."""
    model.eval()
    given = torch.from_numpy(input_labels) if model.training_labels == "all" else None  # decoders that read the label
    recon = torch.sigmoid(model.reconstruct_logits(inputs, given)).numpy()
    labels_for_samples = torch.arange(N_SAMPLES) % model.n_classes if model.label_input else None
    samples = model.sample(N_SAMPLES, torch.Generator().manual_seed(0), labels=labels_for_samples).numpy()
    if codes.shape[1] == 2:
        kind, xy = "code", codes
    elif projection is not None:
        kind = "umap" if "umap" in projection else "pca"
        xy = projection[kind]
    else:
        kind, xy = "pca", projections.pca(codes)[0]
    return Panel(recon, samples, latent.scatter_image(xy, labels, size), kind, metrics.sharpness(samples))


def summary(family: str) -> str:
    """The family's one sentence on what it optimises."""
    return get_model_class(family).summary
