"""Dimensionality-reduction AAE (Makhzani et al. 2015, §7, Figure 10–11).

The encoder outputs a softmax y over m clusters and a 2-D style z; the 2-D representation is
W·y + z, with W (2×m) learned cluster heads, and the decoder reconstructs from that point alone.
y is matched to Cat(m) and z to a narrow Gaussian; a penalty pushes every pair of heads at least
``head_margin`` apart so that clusters do not overlap. Labelled images (1000 or 100) teach q(y|x)
in a semi-supervised phase; without labels it clusters (m = 20).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from aae_core import losses
from aae_core.models.base import Autoencoder
from aae_core.models.categorical import CategoricalAAE, CategoricalAAEConfig
from aae_core.registry import register_model


@dataclass(frozen=True)
class DimReductionAAEConfig(CategoricalAAEConfig):
    latent_dim: int = 2
    prior: dict = field(default_factory=lambda: {"name": "gaussian", "std": 0.5})
    head_margin: float = 6.0  # η: pairs of heads closer than this are pushed apart
    head_weight: float = 1.0  # weight of the head-distance penalty in the reconstruction phase

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.latent_dim != 2:
            raise ValueError(f"the dimensionality-reduction AAE maps to 2-D: latent_dim must be 2, got {self.latent_dim}")
        if not (self.head_margin > 0 and self.head_weight >= 0):
            raise ValueError("head_margin must be > 0 and head_weight >= 0")


@register_model("dimred-aae")
class DimReductionAAE(CategoricalAAE):
    summary = ("A cluster y placed at a learnt head W·y plus a small style z: a 2-D map of the data, with few "
               "or no labels.")
    config_class = DimReductionAAEConfig
    inference_modules = ("encoder", "decoder", "heads")
    label_input = False  # the decoder reads the 2-D point only

    def __init__(self, config: DimReductionAAEConfig) -> None:
        super().__init__(config)
        self.heads = nn.Linear(config.n_classes, 2, bias=False)  # weight 2×m: the cluster heads
        nn.init.normal_(self.heads.weight, std=config.head_margin / 2)

    def _decoder_width(self) -> int:
        return 2

    def _combine(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """W·y + z: N×m, N×2 → N×2."""
        return self.heads(y) + z

    _decoder_input = Autoencoder._decoder_input  # a 2-D point, no label
    reconstruct_logits = Autoencoder.reconstruct_logits

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The 2-D representation W·q(y|x) + z: N×784 → N×2."""
        logits, z = self._heads(x)
        return self._combine(F.softmax(logits, -1), z)

    def cluster(self, x: torch.Tensor) -> torch.Tensor:
        """q(y|x): N×784 → N×m (with labelled training, cluster k is digit k)."""
        return self.class_probs(x)

    def head_positions(self) -> torch.Tensor:
        """m×2: where each cluster head sits in the 2-D map."""
        return self.heads.weight.detach().t()

    def map_extent(self) -> tuple[float, float]:
        """The 2-D map holds W·y + z: every head, widened by the style prior's reach."""
        lo, hi = self.prior.extent()
        heads = self.head_positions()
        return float(heads.min()) + lo, float(heads.max()) + hi

    def _decode_prior_sample(self, z, labels, generator):
        """Images from W·y + z with y ~ Cat(m) (or the given clusters) and z from the style prior."""
        n = len(z)
        y = self._label_one_hot(torch.randint(self.n_classes, (n,), generator=generator) if labels is None else labels, n)
        return self.decode(self._combine(y, z.to(y.device)))

    def _reconstruction_params(self):
        return [*super()._reconstruction_params(), *self.heads.parameters()]

    def _reconstruction_loss(self, out, x):
        penalty = losses.head_distance_penalty(self.heads.weight.t(), self.config.head_margin)
        return super()._reconstruction_loss(out, x) + self.config.head_weight * penalty
