"""Training recipes as data: how a model is trained, kept apart from what it is (its config).

A ``Recipe`` gives every training phase its own optimizer (kind, learning rate, momentum or betas,
step decays by epoch) and the regularisers that act only in training: Gaussian noise and dropout on
the encoder's input, dropout after every hidden layer of the encoder and decoder, N(0, σ) weight
initialisation, and Gaussian noise on the inputs of each discriminator, named one by one (0 unless
set). Recipes round-trip through JSON; every weights card records the one it was trained with.

Phases are the keys of a model's ``phase_parameters()``: ``ae`` (reconstruction), ``g`` (the
encoder as generator), one ``d``/``d_y``/``d_z`` per discriminator, ``xent`` (semi-supervised
cross-entropy), ``vae``. A recipe entry for ``d`` also serves ``d_y`` and ``d_z`` unless they have
their own. Sources of the named recipes: ../shared/reference/aae-notes.md, "Recipes".
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import torch
from torch import nn

OPTIMIZERS = ("adam", "sgd")


def _number(name: str, value, low: float, high: float | None = None, low_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    ok = ok and (value > low if low_open else value >= low) and (high is None or value < high)
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}" + (f" and < {high}" if high is not None else "")
        raise ValueError(f"{name} must be a number {bound}, got {value!r}")


@dataclass(frozen=True)
class PhaseOptim:
    """The optimizer of one phase. ``decay_at``: epochs (counted from 0) from which the learning rate
    is divided by ``decay_factor`` once more, e.g. (50, 1000): ÷10 from the 51st epoch, ÷100 from the 1001st."""

    kind: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9  # SGD
    betas: tuple[float, float] = (0.9, 0.999)  # Adam
    decay_at: tuple[int, ...] = ()
    decay_factor: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "betas", tuple(self.betas))
        object.__setattr__(self, "decay_at", tuple(self.decay_at))
        if self.kind not in OPTIMIZERS:
            raise ValueError(f"kind must be one of {OPTIMIZERS}, got {self.kind!r}")
        _number("lr", self.lr, 0, low_open=True)
        _number("momentum", self.momentum, 0, 1)
        if len(self.betas) != 2:
            raise ValueError(f"betas must be two numbers, got {self.betas!r}")
        for b in self.betas:
            _number("betas", b, 0, 1)
        if any(not isinstance(e, int) or isinstance(e, bool) or e < 1 for e in self.decay_at) \
                or list(self.decay_at) != sorted(set(self.decay_at)):
            raise ValueError(f"decay_at must be increasing positive epochs, got {self.decay_at!r}")
        _number("decay_factor", self.decay_factor, 1)

    def lr_at(self, epoch: int) -> float:
        """The learning rate of the epoch with 0-based index ``epoch``."""
        return self.lr / self.decay_factor ** sum(epoch >= e for e in self.decay_at)

    def build(self, params) -> torch.optim.Optimizer:
        params = list(params)
        if self.kind == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum)
        # the fused kernel: one pass over the parameters per step (1.4–1.6× faster steps here; `make bench`)
        fused = bool(params) and all(p.device.type in ("cpu", "cuda") for p in params)
        return torch.optim.Adam(params, lr=self.lr, betas=self.betas, fused=fused or None)


@dataclass(frozen=True)
class Recipe:
    phases: dict = field(default_factory=lambda: {"ae": PhaseOptim()})  # phase name → PhaseOptim
    init_std: float | None = None  # None: PyTorch's default init; else every weight ~ N(0, σ²), biases 0
    input_noise: float = 0.0  # std of Gaussian noise added to the encoder's input (training only)
    input_dropout: float = 0.0  # dropout on the encoder's input pixels (training only)
    hidden_dropout: float = 0.0  # dropout after every hidden layer of the encoder and the decoder
    disc_noise: dict = field(default_factory=dict)  # discriminator phase name → std of noise on its inputs

    def __post_init__(self) -> None:
        if not isinstance(self.phases, dict) or not self.phases:
            raise ValueError("phases must be a non-empty mapping of phase name → optimizer")
        phases = {str(k): v if isinstance(v, PhaseOptim) else PhaseOptim(**_object(v, f"phases.{k}"))
                  for k, v in self.phases.items()}
        object.__setattr__(self, "phases", phases)
        if self.init_std is not None:
            _number("init_std", self.init_std, 0, low_open=True)
        _number("input_noise", self.input_noise, 0)
        _number("input_dropout", self.input_dropout, 0, 1)
        _number("hidden_dropout", self.hidden_dropout, 0, 1)
        if not isinstance(self.disc_noise, dict):
            raise ValueError(f"disc_noise must map discriminator phases to a std, got {self.disc_noise!r}")
        for k, v in self.disc_noise.items():
            _number(f"disc_noise.{k}", v, 0)

    # -- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data) -> "Recipe":
        data = _object(data, "recipe")
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"a recipe has no field(s) {sorted(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"bad recipe: {exc}") from None

    def with_overrides(self, overrides: dict) -> "Recipe":
        """A copy with dotted keys replaced: ``g.lr``, ``d.decay_at``, ``disc_noise.d_z``, ``input_noise``.
        ``PHASE.FIELD`` on a phase the recipe lacks starts that phase from the defaults."""
        data = self.to_dict()
        for key, value in overrides.items():
            head, _, rest = key.partition(".")
            if head in ("init_std", "input_noise", "input_dropout", "hidden_dropout") and not rest:
                data[head] = value
            elif head == "disc_noise" and rest:
                data["disc_noise"][rest] = value
            elif rest and rest in {f.name for f in dataclasses.fields(PhaseOptim)}:
                data["phases"].setdefault(head, {})[rest] = value
            else:
                raise ValueError(f"unknown recipe setting {key!r}: use PHASE.FIELD (fields: "
                                 f"{', '.join(f.name for f in dataclasses.fields(PhaseOptim))}), disc_noise.PHASE, "
                                 "init_std, input_noise, input_dropout or hidden_dropout")
        return Recipe.from_dict(data)

    # -- use --------------------------------------------------------------------------------
    def phase(self, name: str) -> PhaseOptim:
        """The optimizer of phase ``name`` (``d_y`` falls back on ``d``)."""
        for key in (name, name.split("_")[0]):
            if key in self.phases:
                return self.phases[key]
        raise ValueError(f"the recipe has no optimizer for phase {name!r} (it has {sorted(self.phases)})")

    def check(self, model) -> None:
        """Refuse a recipe that does not fit ``model`` (a model or its class): a phase of the model
        without an optimizer, or discriminator noise for a discriminator it lacks."""
        for phase in model.phases:
            self.phase(phase)
        stray = set(self.disc_noise) - set(model.discriminator_phases)
        if stray:
            raise ValueError(f"disc_noise names {sorted(stray)}, but {model.model_name}'s discriminators are "
                             f"{list(model.discriminator_phases) or 'none'}")

    def build_optimizers(self, model) -> dict[str, torch.optim.Optimizer]:
        """One optimizer per phase of ``model``; refuses settings for phases the model does not have."""
        self.check(model)
        return {name: self.phase(name).build(p) for name, p in model.phase_parameters().items()}

    def set_epoch(self, opts: dict[str, torch.optim.Optimizer], epoch: int) -> None:
        """Apply the step decays: every phase's learning rate for the 0-based ``epoch``."""
        for name, opt in opts.items():
            for group in opt.param_groups:
                group["lr"] = self.phase(name).lr_at(epoch)

    def initialise(self, model: nn.Module, generator: torch.Generator | None = None) -> None:
        """N(0, init_std²) weights and zero biases for every linear layer (no-op without init_std)."""
        if self.init_std is None:
            return
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.Linear):
                    m.weight.copy_(torch.randn(m.weight.shape, generator=generator) * self.init_std)
                    if m.bias is not None:
                        m.bias.zero_()


def _object(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(value).__name__}")
    return dict(value)


# -- the named recipes -------------------------------------------------------------------------
def _sgd(lr: float, momentum: float, decay_at=(50, 1000)) -> PhaseOptim:
    return PhaseOptim(kind="sgd", lr=lr, momentum=momentum, decay_at=decay_at)


def _adam(lr: float, beta1: float = 0.9) -> PhaseOptim:
    return PhaseOptim(kind="adam", lr=lr, betas=(beta1, 0.999))


RECIPES: dict[str, Recipe] = {
    # The appendix-style schedule of the public ports (musyoku, the TU Delft port): SGD per phase,
    # every rate ÷10 at epoch 50 and again at 1000, weights N(0, 0.01), no discriminator noise.
    "paper-sgd": Recipe(phases={"ae": _sgd(0.01, 0.9), "g": _sgd(0.1, 0.1), "d": _sgd(0.1, 0.1),
                                "xent": _sgd(0.1, 0.9)}, init_std=0.01),
    # The same with the semi-supervised AAE's Gaussian noise (std 0.3) on the encoder's input.
    "paper-sgd-semi": Recipe(phases={"ae": _sgd(0.01, 0.9), "g": _sgd(0.1, 0.1), "d": _sgd(0.1, 0.1),
                                     "xent": _sgd(0.1, 0.9)}, init_std=0.01, input_noise=0.3),
    # The same with the clustering ports' 20 % dropout on the input.
    "paper-sgd-cluster": Recipe(phases={"ae": _sgd(0.01, 0.9), "g": _sgd(0.1, 0.1), "d": _sgd(0.1, 0.1)},
                                init_std=0.01, input_dropout=0.2),
    # Adam with the game balanced: the generator steps as far as the reconstruction does (Adam's
    # step is about lr whatever the gradient's size), adversaries at β1 = 0.5; ÷10 at epoch 50.
    "adam-balanced": Recipe(phases={"ae": PhaseOptim(lr=1e-3, decay_at=(50,)),
                                    "g": PhaseOptim(lr=1e-3, betas=(0.5, 0.999), decay_at=(50,)),
                                    "d": PhaseOptim(lr=1e-3, betas=(0.5, 0.999), decay_at=(50,)),
                                    "xent": PhaseOptim(lr=1e-3, decay_at=(50,))}),
    # musyoku's 2-D AAEs: Adam 1e-4, β1 = 0.5 for every phase (his gradient clipping left out).
    "adam-musyoku": Recipe(phases={"ae": _adam(1e-4, 0.5), "g": _adam(1e-4, 0.5), "d": _adam(1e-4, 0.5),
                                   "xent": _adam(1e-4, 0.5)}),
    # What the first shipped models used: the adversaries 10× slower than reconstruction, noise 0.3
    # on every discriminator input (kept to describe and retrain those models).
    "adam-legacy": Recipe(phases={"ae": _adam(1e-3), "g": _adam(1e-4, 0.5), "d": _adam(1e-4, 0.5),
                                  "xent": _adam(1e-3)}, disc_noise={"d": 0.3, "d_y": 0.3, "d_z": 0.3}),
    # The label-aware family's first runs: adam-legacy with the generator 10× faster (1e-3).
    "adam-legacy-g3": Recipe(phases={"ae": _adam(1e-3), "g": _adam(1e-3, 0.5), "d": _adam(1e-4, 0.5),
                                     "xent": _adam(1e-3)}, disc_noise={"d": 0.3, "d_y": 0.3, "d_z": 0.3}),
    # The WAE paper's MNIST settings (the authors' code): Adam β1 = 0.5, 1e-3 for the autoencoder and
    # 5e-4 for the adversary (WAE-GAN), halved from epoch 30 (their further ÷5 at epoch 50 left out).
    "wae": Recipe(phases={"ae": PhaseOptim(lr=1e-3, betas=(0.5, 0.999), decay_at=(30,), decay_factor=2.0),
                          "d": PhaseOptim(lr=5e-4, betas=(0.5, 0.999), decay_at=(30,), decay_factor=2.0)}),
    # The ALAE authors' MNIST settings: Adam 0.002, β = (0, 0.99), for every step.
    "alae": Recipe(phases={p: PhaseOptim(lr=0.002, betas=(0.0, 0.99)) for p in ("d", "g", "eg")}),
    # A VAE or a plain autoencoder: one phase.
    "adam": Recipe(phases={"vae": _adam(1e-3), "ae": _adam(1e-3)}),
}

# Variants of paper-sgd-cluster swept for the clustering AAE on a GPU (docs/training-notes.md):
# reconstruction 10× slower (the adversaries relatively stronger), the adversaries' momentum 0.5, half
# the input dropped.
RECIPES.update({name: RECIPES["paper-sgd-cluster"].with_overrides(changes) for name, changes in {
    "cluster-sgd-slow-ae": {"ae.lr": 0.001},
    "cluster-sgd-adv-mom": {"g.momentum": 0.5, "d.momentum": 0.5},
    "cluster-sgd-drop50": {"input_dropout": 0.5},
}.items()})
# The semi-supervised recipe with every rate divided by 10 earlier than the appendix's epoch 50 (and again
# at 1000): a fresh all-labels seed that started at the divided rate beat every seed of the 260-epoch run
# (docs/training-notes.md), so the decay epoch is worth a sweep of its own.
RECIPES.update({f"paper-sgd-semi-decay{epoch}": RECIPES["paper-sgd-semi"].with_overrides(
    {f"{phase}.decay_at": (epoch, 1000) for phase in RECIPES["paper-sgd-semi"].phases}) for epoch in (10, 20)})
# adam-balanced and adam-musyoku for the plain AAE (no classifier phase) with 20 % dropout after every
# hidden layer of encoder and decoder, as the PaddlePaddle reproduction of the 8-D Parzen model (345
# with it, 232 without).
RECIPES.update({f"{name}-dropout": dataclasses.replace(
    RECIPES[name], hidden_dropout=0.2, phases={k: RECIPES[name].phases[k] for k in ("ae", "g", "d")})
    for name in ("adam-balanced", "adam-musyoku")})


def legacy_recipe(config: dict, discriminators: tuple[str, ...]) -> tuple[dict, Recipe]:
    """Split a config written before recipes existed (training settings inside the model's config)
    into (the architecture config, the recipe it was trained with), exactly as it was run."""
    config = dict(config)
    pop = lambda key, default: config.pop(key, default)  # noqa: E731
    lr, sup_lr = pop("lr", 1e-3), pop("sup_lr", 1e-3)
    d_lr, g_lr, beta1 = pop("d_lr", 1e-4), pop("g_lr", 1e-4), pop("adv_beta1", 0.5)
    kind, momentum, noise = pop("adv_optimizer", "adam"), pop("adv_momentum", 0.9), pop("disc_noise", 0.3)
    adversarial = (lambda rate: PhaseOptim(kind="sgd", lr=rate, momentum=momentum)) if kind == "sgd" \
        else (lambda rate: _adam(rate, beta1))
    phases = {"ae": _adam(lr), "vae": _adam(lr)}
    if discriminators:
        phases = {"ae": _adam(lr), "g": adversarial(g_lr), "d": adversarial(d_lr), "xent": _adam(sup_lr)}
    return config, Recipe(phases=phases, disc_noise={d: noise for d in discriminators if noise})


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown recipe {name!r}; known recipes: {', '.join(sorted(RECIPES))}") from None


def recipe_for(model, recipe: Recipe) -> Recipe:
    """``recipe`` restricted to what ``model`` (a model or its class) has: disc_noise only for its
    own discriminators (a named recipe sets it for every kind of model)."""
    mine = set(model.discriminator_phases)
    return dataclasses.replace(recipe, disc_noise={k: v for k, v in recipe.disc_noise.items() if k in mine})
