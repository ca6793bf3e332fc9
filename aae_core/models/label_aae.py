"""Label-conditioned regularization (Makhzani et al. 2015, §2.3 and Figure 4).

An AAE whose discriminator also sees a one-hot label with every code, plus an extra "unlabelled"
slot: a prior sample carries the component (mixture mode or swiss-roll segment) it was drawn from,
an encoded image carries its digit, and an unlabelled image (and the prior sample it is matched
with) carries the unlabelled slot. The encoder then has to put digit k on component k.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from aae_core.models.aae import AAE, AAEConfig
from aae_core.models.base import check_positive_int
from aae_core.priors import build_prior
from aae_core.registry import register_model


@dataclass(frozen=True)
class LabelAAEConfig(AAEConfig):
    prior: dict = field(default_factory=lambda: {"name": "mixture10"})
    n_classes: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int("n_classes", self.n_classes)
        components = build_prior(self.prior).n_components
        if components != self.n_classes:
            raise ValueError(f"the prior has {components} component(s) but n_classes is {self.n_classes}: "
                             "label-conditioned regularization needs one component per class")


@register_model("label-aae")
class LabelConditionedAAE(AAE):
    summary = ("An AAE whose discriminator is told each labelled image's digit: every digit is pushed onto its "
               "own part of the prior.")
    config_class = LabelAAEConfig
    training_labels = "partial"
    selection_metric = "cond_prior_swd"  # each digit on its own component, see aae_core.metrics

    @property
    def n_classes(self) -> int:
        return self.config.n_classes

    @property
    def condition_dim(self) -> int:
        return self.config.n_classes + 1  # one slot per class, then "unlabelled"

    def _disc_input(self, z, component, y):
        """z: N×d → N×(d+K+1): the noisy code and the one-hot label. A prior sample (``component``
        given) takes its component where the image it is matched with is labelled; an encoded image
        takes its label ``y``; both take the unlabelled slot K otherwise."""
        unlabelled = self.config.n_classes
        if y is None:
            slot = torch.full((len(z),), unlabelled, dtype=torch.long, device=z.device)
        else:
            slot = torch.where(y >= 0, component if component is not None else y, unlabelled)
        return torch.cat([super()._disc_input(z, component, y), F.one_hot(slot, unlabelled + 1).to(z.dtype)], 1)
