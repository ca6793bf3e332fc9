"""N AAEs with a categorical code trained at once: the semi-supervised AAE, the unsupervised
clustering AAE and the dimensionality-reduction AAE (``aae_core.models.categorical``'s step, every
phase, on stacked weights; for the last, the decoder reads W·y + z and the reconstruction phase adds
its heads' distance penalty and trains the heads W).

Each model keeps its own seed, recipe, batch order, one-hot and prior samples, noise and dropout —
and, for the semi-supervised AAE, its own labelled pool (indices into the training images), so that
one stack holds 100, 1000 and all labels × several seeds: the paper's table with its ± in one run.
N stacked models give, to float tolerance, what N stacked runs of one give (tested); each exports
as an ordinary ``SemiSupervisedAAE``, ``ClusteringAAE`` or ``DimReductionAAE``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from aae_core import losses
from aae_core.models.categorical import CategoricalAAE, CategoricalAAEConfig
from aae_core.models.cluster_aae import ClusteringAAE
from aae_core.models.dimred_aae import DimReductionAAE
from aae_core.models.semi_aae import SemiSupervisedAAE
from aae_core.recipes import Recipe
from aae_core.stacked import StackedTrainer, frozen, per_model_bce, per_model_recon

FAMILIES: dict[str, type[CategoricalAAE]] = {"semi-aae": SemiSupervisedAAE, "cluster-aae": ClusteringAAE,
                                             "dimred-aae": DimReductionAAE}


class StackedCategoricalAAE(StackedTrainer):
    """N semi-supervised, clustering or dimensionality-reduction AAEs (one config, one family).

    ``pools``: for the semi-supervised AAE, one labelled pool per model — int64 indices into the
    training images ``x`` that ``train_epoch`` will get, with ``labels`` (M int64, the training
    images' labels, on the device; only the pools' entries are read). Without pools the models
    learn without labels (the clustering AAE always does)."""

    networks = ("encoder", "decoder", "disc_y", "disc_z")

    def __init__(self, family: str, config: CategoricalAAEConfig, seeds: list[int], recipes: list[Recipe],
                 device: torch.device | str = "cpu", use_torch_optimizers: bool = True,
                 cuda_graph: bool = False, max_chunk: int = 1,
                 pools: list[torch.Tensor] | None = None, labels: torch.Tensor | None = None) -> None:
        if family not in FAMILIES:
            raise ValueError(f"stacked categorical families are {sorted(FAMILIES)}, got {family!r}")
        self.model_class = FAMILIES[family]
        self.heads_map = family == "dimred-aae"  # the decoder reads W·y + z; the heads W train with it
        if self.heads_map:
            self.networks = (*type(self).networks, "heads")
        if pools is not None:
            if self.model_class.training_labels == "none":
                raise ValueError(f"{family} learns without labels: give no labelled pools")
            if labels is None or len(pools) != len(seeds) or any(len(p) == 0 for p in pools):
                raise ValueError("give one non-empty labelled pool per model, and the training labels")
        self.pools = None if pools is None else [torch.as_tensor(p, dtype=torch.long, device=device) for p in pools]
        self.labels = None if labels is None else labels.to(device)
        super().__init__(config, seeds, recipes, device, use_torch_optimizers, cuda_graph, max_chunk)

    def phase_networks(self) -> dict[str, tuple[str, ...]]:
        phases = {"ae": ("encoder", "decoder", *(("heads",) if self.heads_map else ())), "d_y": ("disc_y",),
                  "d_z": ("disc_z",), "g": ("encoder",)}
        if self.pools is not None:
            phases["xent"] = ("encoder",)
        return phases

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: N×B×784 → (y logits N×B×K, style z N×B×d), through each model's input noise and dropout."""
        h = self.encoder(self._encoder_input(x))
        return h[..., :self.config.n_classes], h[..., self.config.n_classes:]

    def _one_hot_samples(self, b: int) -> torch.Tensor:
        """N×B×K: one-hot samples of Cat(K) per model, from its own generator."""
        k, gens, device = self.config.n_classes, self.generators, self.device

        def fill(i: int, out: torch.Tensor) -> None:  # out: steps×B×K
            out.copy_(F.one_hot(torch.randint(k, out.shape[:-1], generator=gens[i], device=device), k))

        return self.tape.take((b, k), torch.float32, fill)

    def _labelled_batch(self, x: torch.Tensor, b: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """B labelled images per model, drawn with replacement from its own pool: (N×B×784, N×B)."""
        if self.pools is None:
            return None
        pools, gens, device = self.pools, self.generators, self.device

        def fill(i: int, out: torch.Tensor) -> None:  # out: steps×B, indices into x
            out.copy_(pools[i][torch.randint(len(pools[i]), out.shape, generator=gens[i], device=device)])

        idx = self.tape.take((b,), torch.long, fill).reshape(-1)  # N·B
        return x.index_select(0, idx).view(len(self.pools), b, -1), self.labels.index_select(0, idx).view(len(self.pools), b)

    def _reconstruction_loss(self, y: torch.Tensor, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """N losses of the reconstruction phase from soft y (N×B×K) and z (N×B×d): the decoder reads
        [y, z], or the dimensionality-reduction AAE's W·y + z (N×B×2) plus its heads' penalty."""
        if not self.heads_map:
            return per_model_recon(self.decoder(torch.cat([y, z], -1)), x)
        c = self.config
        penalty = losses.head_distance_penalty(self.heads.weight.transpose(1, 2), c.head_margin)  # N (heads N×K×2)
        return per_model_recon(self.decoder(self.heads(y) + z), x) + c.head_weight * penalty

    def train_step(self, x: torch.Tensor, labelled=None, y=None) -> dict[str, torch.Tensor]:
        n, b = x.shape[:2]
        # (1) reconstruction phase, from the soft y and z
        logits, z = self._heads(x)  # N×B×K, N×B×d
        y_soft = F.softmax(logits, -1)  # (``y``, each image's own label, is read by no categorical family)
        recon = self._step("ae", self._reconstruction_loss(y_soft, z, x))
        # (2a) one discriminator per code: prior samples real, the codes of (1) fake (both kinds of
        # sample drawn first, as the model's own step draws them)
        y_real, z_real = self._one_hot_samples(b), self._prior_samples(b)
        d_y = self._discriminator_step("d_y", self.disc_y, y_real, y_soft)
        d_z = self._discriminator_step("d_z", self.disc_z, z_real, z)
        # (2b) the encoder fools both, through the frozen discriminators
        with frozen(self.disc_y, self.disc_z):
            logits, z = self._heads(x)
            g = per_model_bce(self.disc_y(self._noisy("d_y", F.softmax(logits, -1))), 1.0) \
                + per_model_bce(self.disc_z(self._noisy("d_z", z)), 1.0)
        out = {"recon": recon, "d_y": d_y, "d_z": d_z, "g": self._step("g", g)}
        # (3) semi-supervised phase: cross-entropy of q(y|x) on each model's labelled batch
        if labelled is not None:
            x_lab, y_lab = labelled  # N×B×784, N×B
            lab_logits = self._heads(x_lab)[0]  # N×B×K
            xent = F.cross_entropy(lab_logits.flatten(0, 1), y_lab.flatten(), reduction="none").view(n, -1).mean(1)
            out["xent"] = self._step("xent", xent)
        return out
