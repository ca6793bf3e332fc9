"""Conditional VAE (Kingma, Rezende, Mohamed, Welling 2014, the labelled case of their model M2).

The decoder reads the one-hot label with the code, p(x | y, z), so z need only hold the style; a
KL term pulls each q(z|x) toward the prior. Fix the label and vary z: one digit in every style; fix z
and vary the label: the same style written as every digit (analogies). Unlike M2, whose encoder
reads the label too, q(z|x) sees the image alone — exactly the supervised AAE's structure, so the two
differ only in how the code is regularised: a KL per image here, an adversary on the aggregate there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from aae_core.models.base import LabelledDecoder, check_positive_int
from aae_core.models.vae import VAE, VAEConfig
from aae_core.registry import register_model


@dataclass(frozen=True)
class CVAEConfig(VAEConfig):
    prior: dict = field(default_factory=lambda: {"name": "gaussian", "std": 1.0})
    n_classes: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int("n_classes", self.n_classes)


@register_model("cvae")
class CVAE(LabelledDecoder, VAE):
    summary = ("A VAE whose decoder also reads the digit's label: the code holds the style, a KL per image "
               "pulls it to the prior.")
    config_class = CVAEConfig
