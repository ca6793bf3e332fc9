"""A small 2-D AAE (or, for contrast, a VAE) trained in front of a student, a slice at a time: the
logic behind the app's "Train live" page, free of any web framework.

A run trains on the first 8,000 of the shipped MNIST **test** images (the app ships no training set)
and shows the codes of the other 2,000, so what it shows is the model learning, not a benchmark.
Its size is capped (128-128 MLPs, 8,000 images, ``MAX_EPOCHS``); ``train_for`` trains for at most
a given number of seconds and returns, so the caller decides when, and how fairly, the CPU is used.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from aae_core import metrics
from aae_core.models import Batch
from aae_core.recipes import PhaseOptim, Recipe, recipe_for
from aae_core.registry import get_model_class

PRIORS = ("gaussian", "mixture10", "swissroll")
FAMILIES = ("aae", "vae")
N_TRAIN, N_SHOWN = 8_000, 2_000
MAX_EPOCHS = 40
HIDDEN = (128, 128)


def _rate(name: str, value) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 1e-5 <= value <= 0.1:
        raise ValueError(f"{name} must be a learning rate between 1e-5 and 0.1, got {value!r}")


@dataclass(frozen=True)
class LiveSettings:
    family: str = "aae"  # "aae" or "vae"
    prior: str = "gaussian"  # one of PRIORS
    ae_lr: float = 1e-3  # reconstruction (the VAE's whole loss)
    adv_lr: float = 1e-3  # the discriminator and the encoder as generator (AAE)
    disc_noise: float = 0.0  # std of Gaussian noise on the discriminator's inputs (AAE)
    labels: bool = False  # AAE on a mixture or swiss roll: the discriminator is told each digit (Figure 4)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {self.prior!r}")
        _rate("ae_lr", self.ae_lr)
        _rate("adv_lr", self.adv_lr)
        if not isinstance(self.disc_noise, (int, float)) or isinstance(self.disc_noise, bool) or not 0 <= self.disc_noise <= 2:
            raise ValueError(f"disc_noise must be a number in [0, 2], got {self.disc_noise!r}")
        if self.labels and (self.family != "aae" or self.prior == "gaussian"):
            raise ValueError("labels condition the AAE's discriminator on a prior with one part per digit: "
                             "choose the AAE and the mixture or the swiss roll")

    @property
    def model_family(self) -> str:
        return "label-aae" if self.labels else self.family


@dataclass
class LiveRun:
    """One run: the model, its optimizers, where it is in its epoch, and what it has done."""

    settings: LiveSettings
    images: np.ndarray  # N×784 uint8 (the shipped test images), N ≥ N_TRAIN + N_SHOWN
    labels: np.ndarray  # N
    steps: int = 0
    epoch: int = 0
    train_s: float = 0.0
    history: list[dict] = field(default_factory=list)  # one entry per slice: step, epoch, mean losses

    def __post_init__(self) -> None:
        s = self.settings
        cls = get_model_class(s.model_family)
        prior = {"name": s.prior}  # the shipped 2-D models' priors: N(0, 5²I), the mixture, the swiss roll
        extra = {"disc_hidden": HIDDEN} if s.family == "aae" else {}
        torch.manual_seed(s.seed)
        self.model = cls(cls.config_class(hidden=HIDDEN, prior=prior, **extra)).train()
        adversary = PhaseOptim(lr=s.adv_lr, betas=(0.5, 0.999))
        recipe = recipe_for(self.model, Recipe(phases={"ae": PhaseOptim(lr=s.ae_lr), "vae": PhaseOptim(lr=s.ae_lr),
                                                       "g": adversary, "d": adversary},
                                               disc_noise={"d": s.disc_noise} if s.disc_noise else {}))
        self.model.use_recipe(recipe)
        self.opts = recipe.build_optimizers(self.model)
        self.x = torch.from_numpy(self.images[:N_TRAIN].astype(np.float32) / 255.0)  # N_TRAIN×784
        self.y = torch.from_numpy(self.labels[:N_TRAIN].astype(np.int64))
        self.shown_x = torch.from_numpy(self.images[N_TRAIN:N_TRAIN + N_SHOWN].astype(np.float32) / 255.0)
        self.shown_y = self.labels[N_TRAIN:N_TRAIN + N_SHOWN]
        self.generator = torch.Generator().manual_seed(s.seed)
        self.order = torch.randperm(N_TRAIN, generator=self.generator)

    @property
    def steps_per_epoch(self) -> int:
        return N_TRAIN // 100

    @property
    def done(self) -> bool:
        return self.epoch >= MAX_EPOCHS

    def _batch(self) -> Batch:
        i = self.steps % self.steps_per_epoch
        idx = self.order[i * 100:(i + 1) * 100]
        return Batch(x=self.x[idx], y=self.y[idx] if self.model.training_labels != "none" else None)

    def train_for(self, seconds: float, max_steps: int = 10_000) -> dict | None:
        """Train until ``seconds`` have passed (at least one step, at most ``max_steps``, never past
        MAX_EPOCHS); record and return the slice's mean losses (None when the run is done)."""
        if self.done:
            return None
        t0, sums, n = time.perf_counter(), {}, 0
        self.model.train()
        while n < max_steps and not self.done and (n == 0 or time.perf_counter() - t0 < seconds):
            for k, v in self.model.train_step(self._batch(), self.opts).items():
                sums[k] = sums.get(k, 0.0) + float(v)
            n += 1
            self.steps += 1
            if self.steps % self.steps_per_epoch == 0:
                self.epoch += 1
                self.order = torch.randperm(N_TRAIN, generator=self.generator)
        self.train_s += time.perf_counter() - t0
        entry = {"step": self.steps, "epoch": self.steps / self.steps_per_epoch, **{k: v / n for k, v in sums.items()}}
        self.history.append(entry)
        return entry

    @torch.no_grad()
    def codes(self) -> np.ndarray:
        """The shown images' codes now: N_SHOWN×2."""
        self.model.eval()
        return self.model.encode(self.shown_x).numpy()

    def prior_distance(self, codes: np.ndarray | None = None) -> float:
        """Sliced Wasserstein distance of the shown codes to the prior (lower: the codes fill it)."""
        c = self.codes() if codes is None else codes
        return metrics.prior_match(torch.from_numpy(c), self.model.prior)
