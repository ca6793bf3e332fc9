"""Semi-supervised AAE (Makhzani et al. 2015, §5, Figure 8, Table 2).

q(y, z | x) with y a softmax over the 10 digits and z the style; y is matched to Cat(10) and z to
N(0, I) by two discriminators, and q(y|x) also learns from a few labelled images (100, 1000 or all)
in a cross-entropy phase. The classifier is q(y|x): ``classify(x)``.
"""
from __future__ import annotations

import torch

from aae_core.models.categorical import CategoricalAAE, CategoricalAAEConfig
from aae_core.registry import register_model


@register_model("semi-aae")
class SemiSupervisedAAE(CategoricalAAE):
    summary = ("A softmax y and a style z, each matched to its prior by an adversary, plus cross-entropy on a "
               "few labelled images: a classifier.")
    config_class = CategoricalAAEConfig
    training_labels = "pool"

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities q(y|x): N×784 → N×K (rows sum to 1)."""
        return self.class_probs(x)
