"""Unsupervised clustering AAE (Makhzani et al. 2015, §6, Figure 9, Table 3).

The semi-supervised AAE's architecture without any label: y is a softmax over K clusters (16 or
30) matched to Cat(K), z a style matched to N(0, I). Each cluster is then read off by the paper's
rule (it takes the label of its most confident validation image). ``cluster(x)`` gives q(y|x);
``cluster_heads()`` decodes each cluster with the neutral style z = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from aae_core.models.categorical import CategoricalAAE, CategoricalAAEConfig
from aae_core.registry import register_model


@dataclass(frozen=True)
class ClusteringAAEConfig(CategoricalAAEConfig):
    n_classes: int = 16  # K clusters


@register_model("cluster-aae")
class ClusteringAAE(CategoricalAAE):
    summary = ("A one-hot cluster y and a style z, each matched to its prior by its own adversary, with no "
               "labels: the clusters emerge.")
    config_class = ClusteringAAEConfig
    training_labels = "none"  # no semi-supervised phase: labels are never seen in training
    phases = ("ae", "d_y", "d_z", "g")

    def cluster(self, x: torch.Tensor) -> torch.Tensor:
        """Cluster probabilities q(y|x): N×784 → N×K."""
        return self.class_probs(x)

    @torch.no_grad()
    def cluster_heads(self) -> torch.Tensor:
        """K×784: each cluster decoded with style z = 0."""
        k = self.config.n_classes
        return self.decode(torch.zeros(k, self.latent_dim), torch.arange(k))
