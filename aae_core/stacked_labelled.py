"""N label-aware plain AAEs trained at once: the label-conditioned AAE (its discriminator told each
labelled image's digit and each prior sample's component, Figure 4) and the supervised AAE (its
decoder reads the one-hot label with the code, Figure 7) — ``aae_core.models.aae``'s step, every
phase, on stacked weights (``StackedAAE``'s step with this family's decoder input and discriminator
input).

Each model keeps its own labels over the training images (N×M, −1 where the image is unlabelled for
that model: the label-conditioned AAE's labelled share can differ by model and seed), besides its own
seed, recipe, batch order, prior samples and components, noise and dropout. N stacked models give, to
float tolerance, what N stacked runs of one give, and one stacked step is the model's own (tested);
each exports as an ordinary ``LabelConditionedAAE`` or ``SupervisedAAE``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from aae_core.models.aae import AAE, AAEConfig
from aae_core.models.label_aae import LabelConditionedAAE
from aae_core.models.supervised_aae import SupervisedAAE
from aae_core.recipes import Recipe
from aae_core.stacked import StackedAAE

FAMILIES: dict[str, type[AAE]] = {"label-aae": LabelConditionedAAE, "supervised-aae": SupervisedAAE}


class StackedLabelledAAE(StackedAAE):
    """N label-conditioned or supervised AAEs (one config, one family). ``labels``: each model's labels
    of the training images ``x`` that ``train_epoch`` will get — N×M int64 (or one M-vector for all),
    −1 where unlabelled; the supervised AAE needs every label."""

    def __init__(self, family: str, config: AAEConfig, seeds: list[int], recipes: list[Recipe],
                 labels: torch.Tensor, device: torch.device | str = "cpu", use_torch_optimizers: bool = True,
                 cuda_graph: bool = False, max_chunk: int = 1) -> None:
        if family not in FAMILIES:
            raise ValueError(f"stacked label-aware AAE families are {sorted(FAMILIES)}, got {family!r}")
        self.model_class = FAMILIES[family]
        self.conditioned = family == "label-aae"  # the discriminator reads a one-hot slot with the code
        labels = torch.as_tensor(labels, dtype=torch.long)
        labels = labels.expand(len(seeds), -1) if labels.dim() == 1 else labels
        if labels.dim() != 2 or len(labels) != len(seeds):
            raise ValueError(f"give one label vector for all models or one per model ({len(seeds)}), "
                             f"got shape {tuple(labels.shape)}")
        if self.model_class.training_labels == "all" and bool((labels < 0).any()):
            raise ValueError(f"the {family} needs a label for every training image")
        if bool((labels >= config.n_classes).any()):
            raise ValueError(f"labels must be below n_classes ({config.n_classes})")
        self.ys = labels.contiguous().to(device)  # N×M
        super().__init__(config, seeds, recipes, device, use_torch_optimizers, cuda_graph, max_chunk)

    def _batch_labels(self, idx: torch.Tensor) -> torch.Tensor:
        return self.ys.gather(1, idx)  # N×B

    def _decoder_in(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if not self.model_class.label_input:
            return z
        return torch.cat([F.one_hot(y, self.config.n_classes).to(z.dtype), z], -1)  # N×B×(K+d): label ⊕ style

    def _prior_for_discriminator(self, b: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """N×B×d prior samples and N×B their components (mixture modes, swiss-roll segments), drawn
        together per model as the model's own ``prior.sample`` draws them."""
        if not self.conditioned:
            return super()._prior_for_discriminator(b)
        prior, gens, device, d = self.prior, self.generators, self.device, self.prior.dim

        def fill(i: int, out: torch.Tensor) -> None:  # out: steps×B×(d+1): the code, then its component
            z, component = prior.sample(out.shape[0] * b, gens[i], device=device)
            out.copy_(torch.cat([z, component.to(z.dtype)[:, None]], 1).view(out.shape))

        drawn = self.tape.take((b, d + 1), torch.float32, fill)
        return drawn[..., :d], drawn[..., d].round().long()

    def _disc_in(self, z: torch.Tensor, component: torch.Tensor | None, y: torch.Tensor | None) -> torch.Tensor:
        """The noisy code and, for the label-conditioned AAE, a one-hot slot: a prior sample takes its
        component where the image it is matched with is labelled, an image its label, both the extra
        "unlabelled" slot K otherwise (``LabelConditionedAAE._disc_input``, per model)."""
        noisy = self._noisy("d", z)
        if not self.conditioned:
            return noisy
        k = self.config.n_classes
        slot = torch.where(y >= 0, component if component is not None else y, torch.full_like(y, k))
        return torch.cat([noisy, F.one_hot(slot, k + 1).to(z.dtype)], -1)  # N×B×(d+K+1)
