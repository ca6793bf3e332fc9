"""What every autoencoder here shares: a validated config, ``encode``/``decode``/``sample``, and
the split between the parts that ship (encoder, decoder) and those used only in training."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn

from aae_core.priors import Prior, build_prior


def check_positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_non_negative(name: str, value) -> None:
    """A weight or a coefficient: a real number >= 0 (not a bool)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def check_widths(name: str, value: tuple) -> None:
    """Hidden-layer widths of a network: a non-empty sequence of positive integers."""
    if not value or any(not isinstance(h, int) or h < 1 for h in value):
        raise ValueError(f"{name} must be a non-empty list of positive widths, got {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    input_dim: int = 784
    latent_dim: int = 2
    hidden: tuple[int, ...] = (1000, 1000)
    prior: dict = field(default_factory=lambda: {"name": "gaussian", "std": 5.0})
    arch: str = "mlp"  # the encoder's and decoder's networks: one of aae_core.nets.ARCHITECTURES
    channels: tuple[int, ...] = (32, 64)  # arch "conv": feature maps at 14×14 and 7×7
    batch_norm: bool = False  # arch "conv": batch normalisation after every hidden convolution

    def __post_init__(self) -> None:
        from aae_core.nets import ARCHITECTURES

        object.__setattr__(self, "hidden", tuple(self.hidden))
        object.__setattr__(self, "channels", tuple(self.channels))
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {ARCHITECTURES}, got {self.arch!r}")
        if len(self.channels) != 2:
            raise ValueError(f"channels must be two widths (14×14 and 7×7 feature maps), got {self.channels!r}")
        check_widths("channels", self.channels)
        if not isinstance(self.batch_norm, bool):
            raise ValueError(f"batch_norm must be true or false, got {self.batch_norm!r}")
        if self.batch_norm and self.arch != "conv":
            raise ValueError("batch_norm applies to arch 'conv' only")
        if self.input_dim != 784 and self.arch == "conv":
            raise ValueError("arch 'conv' reads 28×28 images (input_dim 784)")
        for name in ("input_dim", "latent_dim"):
            check_positive_int(name, getattr(self, name))
        check_widths("hidden", self.hidden)
        prior = build_prior({"dim": self.latent_dim, **self.prior} if isinstance(self.prior, dict) else self.prior)
        if prior.dim != self.latent_dim:
            raise ValueError(f"prior has dim {prior.dim} but latent_dim is {self.latent_dim}")
        object.__setattr__(self, "prior", prior.spec())

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        if not isinstance(data, dict):
            raise ValueError(f"a {cls.__name__} must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        moved = unknown & LEGACY_TRAINING_FIELDS
        if moved:
            raise ValueError(f"{sorted(moved)} are training settings: they belong to a recipe "
                             "(aae_core.recipes), not to the model's config")
        if unknown:
            raise ValueError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
        return cls(**data)


# Training settings that configs held before recipes (aae_core.recipes) took them over.
LEGACY_TRAINING_FIELDS = {"lr", "d_lr", "g_lr", "sup_lr", "adv_beta1", "adv_optimizer", "adv_momentum", "disc_noise"}


@dataclass
class ModelOutput:
    recon_logits: torch.Tensor  # N×784
    z: torch.Tensor  # N×d, the code the decoder saw
    mu: torch.Tensor | None = None  # N×d (Gaussian posteriors)
    logvar: torch.Tensor | None = None  # N×d
    y_logits: torch.Tensor | None = None  # N×K (models with a categorical code)


@dataclass
class Batch:
    """One training step's data, all on the model's device."""

    x: torch.Tensor  # B×784 in [0, 1]
    y: torch.Tensor | None = None  # B int64 labels, −1 where the image is unlabelled; None: no labels at all
    x_lab: torch.Tensor | None = None  # L×784, a batch drawn from the labelled pool (semi-supervised phase)
    y_lab: torch.Tensor | None = None  # L int64


# What a model does with training labels (``Autoencoder.training_labels``):
#   "none"    ignores them;
#   "partial" uses the label of each labelled image in the batch (−1 = unlabelled);
#   "all"     needs a label for every training image;
#   "pool"    draws a labelled batch from the labelled images for a supervised phase (none: unsupervised).
LABEL_USES = ("none", "partial", "all", "pool")


def one_hot_labels(labels, n: int, n_classes: int, device, dtype, model_name: str) -> torch.Tensor:
    """Labels for ``n`` codes → n×K: an int (same for all), N ints in 0..K−1, or N×K class probabilities."""
    if labels is None:
        raise ValueError(f"{model_name} decodes a code together with a label: pass labels= "
                         f"(an int 0–{n_classes - 1}, N ints, or N×{n_classes} probabilities)")
    if isinstance(labels, int) and not isinstance(labels, bool):
        labels = torch.full((n,), labels, dtype=torch.long)
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be an int or a torch.Tensor, got {type(labels).__name__}")
    if labels.dim() == 0 and not labels.is_floating_point():  # one label for every code
        labels = labels.expand(n)
    if labels.is_floating_point():
        if labels.shape != (n, n_classes):
            raise ValueError(f"label probabilities must have shape {n}×{n_classes}, got {tuple(labels.shape)}")
        return labels.to(device=device, dtype=dtype)
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match the codes, got {tuple(labels.shape)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must be in 0..{n_classes - 1}, got values {labels.min().item()}..{labels.max().item()}")
    return F.one_hot(labels.to(device=device, dtype=torch.long), n_classes).to(dtype)


class Autoencoder(nn.Module):
    """Base class. Subclasses set ``config_class``, build ``encoder``/``decoder`` and implement
    ``forward``, ``phase_parameters`` and ``train_step``. How they are trained (optimizers per
    phase, noise, dropout) comes from a recipe (``aae_core.recipes``) through ``use_recipe``."""

    config_class = ModelConfig
    model_name = "base"
    # Modules that ship in the weights; everything else (discriminators) is training-only.
    inference_modules: tuple[str, ...] = ("encoder", "decoder")
    training_labels: str = "none"  # one of LABEL_USES
    label_input = False  # True: the decoder takes a label (or cluster) with the code
    n_classes = 0  # size of that label (decoder input) or categorical code
    categorical_code = False  # True: the encoder also outputs q(y|x) over n_classes (``class_probs(x)``)
    # The validation number that picks the epoch to ship (lower is better), see aae_core.evaluate.
    selection_metric = "recon_bce"
    # The keys of ``phase_parameters`` (known without building the model, to check a recipe's
    # settings), and those among them that train a discriminator (each may get its own input noise).
    phases: tuple[str, ...] = ()
    discriminator_phases: tuple[str, ...] = ()
    summary = ""  # one sentence: what the family optimises (the model zoo shows it)
    extra_metrics: tuple[str, ...] = ()  # code metrics beyond the common ones (aae_core.metrics.CODE_METRICS)
    default_recipe = "adam"  # the named recipe (aae_core.recipes.RECIPES) a training run uses unless told
    # False: nothing pulls the codes toward the prior (plain, denoising, contractive AE); the prior is
    # a reference only, and maps span the codes rather than the prior.
    prior_matched = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self.prior: Prior = build_prior(config.prior)
        self.latent_dim = config.latent_dim
        # training-only regularisers, set by use_recipe (all off: a loaded model)
        self.input_noise = self.input_dropout = 0.0
        self.disc_noise: dict[str, float] = {}

    def use_recipe(self, recipe) -> None:
        """Take a recipe's training-only regularisers: encoder-input noise and dropout, hidden
        dropout in the encoder and decoder, and each discriminator's input noise."""
        self.input_noise, self.input_dropout = recipe.input_noise, recipe.input_dropout
        self.disc_noise = {k: v for k, v in recipe.disc_noise.items() if k in self.discriminator_phases}
        for name in ("encoder", "decoder"):
            net = getattr(self, name)
            if hasattr(net, "dropout"):  # an MLP
                net.dropout = recipe.hidden_dropout
            elif recipe.hidden_dropout:
                raise ValueError(f"this recipe sets hidden_dropout, which the {self.config.arch} networks do not support")

    def _encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """x: N×784 as the encoder sees it: with the recipe's noise and dropout in training mode."""
        if self.training:
            if self.input_noise:
                x = x + self.input_noise * torch.randn_like(x)
            if self.input_dropout:
                x = F.dropout(x, self.input_dropout, training=True)
        return x

    def for_discriminator(self, phase: str, z: torch.Tensor) -> torch.Tensor:
        """What discriminator ``phase`` sees of z (N×k): z plus its own input noise (none unless set)."""
        std = self.disc_noise.get(phase, 0.0)
        return z + std * torch.randn_like(z) if std > 0 else z

    # -- input checks -----------------------------------------------------------------------
    def _check(self, t: torch.Tensor, width: int, what: str) -> torch.Tensor:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{what} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != 2 or t.shape[1] != width:
            raise ValueError(f"{what} must have shape N×{width}, got {tuple(t.shape)}")
        if not t.is_floating_point():
            raise ValueError(f"{what} must be a float tensor, got {t.dtype}")
        param = next(self.parameters())
        return t.to(device=param.device, dtype=param.dtype)

    # -- public API ---------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x: N×784 in [0, 1] → N×d codes (deterministic in eval mode)."""
        raise NotImplementedError

    def _decoder_input(self, z: torch.Tensor, labels) -> torch.Tensor:
        """What the decoder reads: N×d → N×d_in. Models whose decoder takes a label override this."""
        if labels is not None:
            raise ValueError(f"{self.model_name} decodes from the code alone; it takes no labels")
        return z

    def _label_one_hot(self, labels, n: int) -> torch.Tensor:
        param = next(self.parameters())
        return one_hot_labels(labels, n, self.n_classes, param.device, param.dtype, self.model_name)

    def decode_logits(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        """z: N×d (and labels, for models that need one) → N×784 Bernoulli logits."""
        return self.decoder(self._decoder_input(self._check(z, self.latent_dim, "z"), labels))

    def decode(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        """z: N×d → N×784 pixel intensities in [0, 1]. ``labels``: an int, N ints or N×K
        probabilities, required by models with ``label_input`` and refused by the others."""
        return torch.sigmoid(self.decode_logits(z, labels))

    def reconstruct_logits(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        """x: N×784 → N×784 logits of its reconstruction. ``labels``: for models whose decoder reads a
        label and that cannot infer it (the supervised AAE); the others refuse them or infer their own."""
        return self.decode_logits(self.encode(x), labels)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels=None) -> torch.Tensor:
        """n images (n×784) decoded from prior samples (labels drawn uniformly unless given)."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        z, _ = self.prior.sample(n, generator)
        return self._decode_prior_sample(z, labels, generator)

    def _decode_prior_sample(self, z: torch.Tensor, labels, generator: torch.Generator | None) -> torch.Tensor:
        """Prior codes z (n×d) → images; a uniform label each where the decoder needs one."""
        if self.label_input and labels is None:
            labels = torch.randint(self.n_classes, (len(z),), generator=generator)
        return self.decode(z, labels)

    def map_extent(self) -> tuple[float, float]:
        """A square range [lo, hi] per axis of the code that holds almost all of the prior's mass:
        where the codes should lie (plots, manifold grids)."""
        return self.prior.extent()

    # -- training ------------------------------------------------------------------------------
    def phase_parameters(self) -> dict[str, list[nn.Parameter]]:
        """Phase name → the parameters its optimizer updates (see ``aae_core.recipes``)."""
        raise NotImplementedError

    def train_step(self, batch: Batch, opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        """One mini-batch of every training phase; returns detached losses (no host sync)."""
        raise NotImplementedError

    def inference_state_dict(self) -> dict[str, torch.Tensor]:
        return {f"{m}.{k}": v for m in self.inference_modules for k, v in getattr(self, m).state_dict().items()}

    def load_inference_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Load exactly the shipped modules (strict: missing or extra tensors are an error)."""
        expected = set(self.inference_state_dict())
        if set(state) != expected:
            missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
            raise ValueError(f"weights do not fit {self.model_name}: missing {missing[:5]}, unexpected {extra[:5]}")
        for m in self.inference_modules:
            prefix = f"{m}."
            sub = {k[len(prefix):]: v.float() for k, v in state.items() if k.startswith(prefix)}
            getattr(self, m).load_state_dict(sub, strict=True)

    def drop_training_networks(self) -> "Autoencoder":
        """Remove the networks only training uses (the discriminators: never shipped, so a loaded model's
        are freshly initialised and unused) from a model that will only encode, decode and sample —
        the app's shared models, where they held ~4–8 MB each for nothing. Returns the model; training
        it afterwards fails on the missing network."""
        for name in [n for n, _ in self.named_children() if n not in self.inference_modules]:
            delattr(self, name)
        return self


class LabelledDecoder:
    """Mixin for models whose decoder reads the one-hot label with the code, p(x | y, z), and that do
    not infer the label (supervised AAE, conditional VAE): every training image needs its label."""

    training_labels = "all"
    label_input = True

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
            raise ValueError(f"the {self.model_name} model reconstructs an image from its style and its label: "
                             "pass labels=")
        return self.decode_logits(self.encode(x), labels)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I): N×d."""
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp()
