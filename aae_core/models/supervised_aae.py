"""Supervised AAE (Makhzani et al. 2015, §4 and Figure 7): disentangling style from content.

The decoder reads the one-hot label together with the code, p(x | y, z), so the code z only has to
carry what the label does not: the style (slant, width, stroke). Fixing z and changing the label
writes the same style as every digit. The code is regularised to the prior as in the AAE.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from aae_core.models.aae import AAE, AAEConfig
from aae_core.models.base import check_positive_int
from aae_core.registry import register_model


@dataclass(frozen=True)
class SupervisedAAEConfig(AAEConfig):
    prior: dict = field(default_factory=lambda: {"name": "gaussian", "std": 1.0})
    n_classes: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int("n_classes", self.n_classes)


@register_model("supervised-aae")
class SupervisedAAE(AAE):
    config_class = SupervisedAAEConfig
    training_labels = "all"
    label_input = True
    selection_metric = "recon_bce"

    @property
    def n_classes(self) -> int:
        return self.config.n_classes

    @property
    def decoder_extra(self) -> int:
        return self.config.n_classes

    def _decoder_input(self, z: torch.Tensor, labels) -> torch.Tensor:
        """z: N×d and labels → N×(K+d): one-hot label ⊕ style code."""
        return torch.cat([self._label_one_hot(labels, len(z)), z], 1)

    def reconstruct_logits(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        """x: N×784 and its labels (required: the model does not infer them) → N×784 logits."""
        if labels is None:
            raise ValueError("the supervised AAE reconstructs an image from its style and its label: pass labels=")
        return self.decode_logits(self.encode(x), labels)
