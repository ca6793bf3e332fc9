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
BATCH = 100
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
        return N_TRAIN // BATCH

    @property
    def done(self) -> bool:
        return self.epoch >= MAX_EPOCHS

    def _batch(self) -> Batch:
        i = self.steps % self.steps_per_epoch
        idx = self.order[i * BATCH:(i + 1) * BATCH]
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


# -- one worker process for every session's run ------------------------------------------------------------
@dataclass
class Snapshot:
    """What a page draws of a run: where it is, what it did, and the shown images' codes now."""

    steps: int
    epoch: int
    steps_per_epoch: int
    train_s: float
    done: bool
    history: list[dict]
    codes: np.ndarray  # N_SHOWN×2
    shown_y: np.ndarray  # N_SHOWN labels
    prior_distance: float
    settings: LiveSettings

    @classmethod
    def of(cls, run: LiveRun) -> "Snapshot":
        codes = run.codes()
        return cls(run.steps, run.epoch, run.steps_per_epoch, run.train_s, run.done, list(run.history), codes,
                   run.shown_y, run.prior_distance(codes), run.settings)


MAX_RUNS = 32  # runs the worker keeps (least recently used dropped first): about 4 MB each
_RUNS: "dict[str, LiveRun]" = {}
_IMAGES: tuple[np.ndarray, np.ndarray] | None = None


def _worker_init() -> None:
    global _IMAGES
    import os
    os.nice(10)  # training is background work: when the processor is contended, pages come first
    torch.set_num_threads(1)
    from aae_core import load_test_set
    split = load_test_set()
    _IMAGES = split.images.reshape(len(split.images), -1), split.labels


def _touch(run_id: str) -> LiveRun:
    try:
        run = _RUNS.pop(run_id)
    except KeyError:
        raise KeyError("this run is no longer kept (the server keeps the most recent ones): start a new one") from None
    _RUNS[run_id] = run  # most recently used last
    return run


def _new(run_id: str, settings: LiveSettings) -> Snapshot:
    _RUNS.pop(run_id, None)
    while len(_RUNS) >= MAX_RUNS:
        _RUNS.pop(next(iter(_RUNS)))
    _RUNS[run_id] = LiveRun(settings, *_IMAGES)
    return Snapshot.of(_RUNS[run_id])


def _train(run_id: str, seconds: float) -> Snapshot:
    run = _touch(run_id)
    run.train_for(seconds)
    return Snapshot.of(run)


def _decoder(run_id: str) -> tuple[bytes, Snapshot]:
    """The run's decoder as it is now, as ONNX (for exploring it under the mouse), and its snapshot."""
    from aae_core.export import decoder_onnx
    run = _touch(run_id)
    return decoder_onnx(run.model), Snapshot.of(run)


def _drop(run_id: str) -> None:
    _RUNS.pop(run_id, None)


class LivePool:
    """Every session's live run, in one worker process: the runs train one slice at a time in the order
    they were asked for (a session asks again only once its last slice is back, so the turns go round),
    on one core, and never hold the web server's interpreter. The worker starts on first use."""

    def __init__(self) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_worker_init)
        self._asked: dict[str, float] = {}  # run → when it last asked for a slice (this process's clock)

    def new(self, run_id: str, settings: LiveSettings):
        """A future of the new run's first Snapshot."""
        return self._pool.submit(_new, run_id, settings)

    def train(self, run_id: str, seconds: float):
        """A future of the run's Snapshot after one more slice of at most ``seconds``."""
        self._asked[run_id] = time.monotonic()
        return self._pool.submit(_train, run_id, seconds)

    def active(self, window_s: float = 30.0) -> int:
        """How many runs asked for a slice in the last ``window_s`` seconds: the turns go round them, so
        each run's next slice comes about every ``active × slice`` seconds."""
        now = time.monotonic()
        for run_id in [r for r, t in self._asked.items() if now - t > window_s]:
            del self._asked[run_id]
        return len(self._asked)

    def decoder(self, run_id: str):
        """A future of (the run's decoder now, as ONNX bytes; its Snapshot): to explore it like a shipped model."""
        return self._pool.submit(_decoder, run_id)

    def drop(self, run_id: str) -> None:
        self._asked.pop(run_id, None)
        self._pool.submit(_drop, run_id)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)
