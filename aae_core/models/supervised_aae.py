"""Supervised AAE (Makhzani et al. 2015, §4 and Figure 7): disentangling style from content.

The decoder reads the one-hot label together with the code, p(x | y, z), so the code z only has to
carry what the label does not: the style (slant, width, stroke). Fixing z and changing the label
writes the same style as every digit. The code is regularised to the prior as in the AAE.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from aae_core.models.aae import AAE, AAEConfig
from aae_core.models.base import LabelledDecoder, check_positive_int
from aae_core.registry import register_model


@dataclass(frozen=True)
class SupervisedAAEConfig(AAEConfig):
    prior: dict = field(default_factory=lambda: {"name": "gaussian", "std": 1.0})
    n_classes: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int("n_classes", self.n_classes)


@register_model("supervised-aae")
class SupervisedAAE(LabelledDecoder, AAE):
    summary = ("An AAE whose decoder also reads the digit's label: the code, matched to the prior by an "
               "adversary, holds only the style.")
    config_class = SupervisedAAEConfig
    selection_metric = "recon_bce"
