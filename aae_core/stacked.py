"""Many AAEs trained at once as one set of stacked weights (issue 9's first part, on the CPU).

N models of one architecture — different seeds and/or recipes (learning rates, betas, momenta,
decays and discriminator noise per model) — share one set of stacked weights: every linear layer is
an N×out×in tensor, applied to N×B×in inputs by one batched matrix product, so N small models cost
a few large kernels instead of N·layers small ones. Every model keeps its own batch order and its
own prior samples and noise (one random generator per model, seeded with its seed), and its own
optimizer state: training N stacked models gives, to float tolerance, what N stacked runs of one
give (tested). (Not what ``aae_core.train`` gives with the same seed: that draws from the global
random stream, this from one generator per model.) Any one of them exports as an ordinary AAE
(``export``), to save as a shipped model.

Families: the plain AAE (deterministic encoder; ``StackedAAE``) and the AAEs with a categorical
code — semi-supervised (each model with its own labelled pool: label counts and label seeds are a
sweep axis too) and unsupervised clustering (``StackedCategoricalAAE``, in
``aae_core.stacked_categorical``). Recipes with N(0, σ) init, encoder-input noise and dropout, and
discriminator noise; hidden-layer dropout is refused by name.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aae_core.models.aae import AAE
from aae_core.models.base import Autoencoder, ModelConfig
from aae_core.nets import MLP
from aae_core.recipes import PhaseOptim, Recipe, recipe_for


class StackedMLP(nn.Module):
    """N MLPs of the same widths as stacked tensors: weight k is N×out×in, bias k is N×out."""

    def __init__(self, mlps: list[MLP]) -> None:
        super().__init__()
        layers = [[m for m in mlp if isinstance(m, nn.Linear)] for mlp in mlps]
        self.weights = nn.ParameterList(nn.Parameter(torch.stack([ls[k].weight.detach() for ls in layers]).clone())
                                        for k in range(len(layers[0])))
        self.biases = nn.ParameterList(nn.Parameter(torch.stack([ls[k].bias.detach() for ls in layers]).clone())
                                       for k in range(len(layers[0])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: N×B×in → N×B×out (ReLU between layers, none after the last)."""
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b[:, None, :], x, w.transpose(1, 2))  # N×B×out
            if k < last:
                x = F.relu(x)
        return x

    @torch.no_grad()
    def export_into(self, i: int, mlp: MLP) -> None:
        """Copy model i's weights into an ordinary MLP of the same widths."""
        for k, layer in enumerate(m for m in mlp if isinstance(m, nn.Linear)):
            layer.weight.copy_(self.weights[k][i])
            layer.bias.copy_(self.biases[k][i])


class StackedOptimizer:
    """Adam or SGD with momentum over stacked parameters (model index first), with its learning
    rate, betas or momentum per model; the same update as ``torch.optim`` applied to each model.
    Where every model has the same settings (a sweep over seeds), torch's own (fused) optimizer runs
    on the stacked tensors directly: its update is element by element, so still one per model."""

    def __init__(self, params, specs: list[PhaseOptim], eps: float = 1e-8, use_torch: bool = True) -> None:
        kinds = {s.kind for s in specs}
        if len(kinds) != 1:
            raise ValueError(f"stacked models must share an optimizer kind per phase, got {sorted(kinds)}")
        self.kind, self.specs, self.eps, self.t = kinds.pop(), specs, eps, 0
        self.params = list(params)
        same = use_torch and all(s == specs[0] for s in specs)
        self.shared = specs[0].build(self.params) if same else None
        device = self.params[0].device
        per_model = lambda values: torch.tensor(values, dtype=torch.float32, device=device)  # noqa: E731
        self.beta1, self.beta2 = per_model([s.betas[0] for s in specs]), per_model([s.betas[1] for s in specs])
        self.momentum = per_model([s.momentum for s in specs])
        self.state = [] if self.shared is not None else [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Each model's learning rate for the 0-based ``epoch`` (its own step decays)."""
        self.lr = torch.tensor([s.lr_at(epoch) for s in self.specs], dtype=torch.float32, device=self.beta1.device)
        if self.shared is not None:
            for group in self.shared.param_groups:
                group["lr"] = self.specs[0].lr_at(epoch)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        if self.shared is not None:
            self.shared.step()
            return
        self.t += 1
        for p, (m, v) in zip(self.params, self.state):
            if p.grad is None:
                continue
            shape = (-1,) + (1,) * (p.dim() - 1)  # per-model values broadcast over each model's slice
            lr, g = self.lr.view(shape), p.grad
            if self.kind == "adam":
                b1, b2 = self.beta1.view(shape), self.beta2.view(shape)
                m.mul_(b1).add_((1 - b1) * g)
                v.mul_(b2).add_((1 - b2) * g * g)
                denom = (v / (1 - b2 ** self.t)).sqrt().add_(self.eps)
                p.sub_(lr * (m / (1 - b1 ** self.t)) / denom)
            else:  # torch.optim.SGD with momentum: the buffer starts as the first gradient
                if self.t == 1:
                    m.copy_(g)
                else:
                    m.mul_(self.momentum.view(shape)).add_(g)
                p.sub_(lr * m)


def per_model_bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """N×B×1 discriminator logits against a constant target → N mean losses (``losses.gan_*`` per model)."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target), reduction="none") \
        .flatten(1).mean(1)


def per_model_recon(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """N×B×784 logits and images → N Bernoulli NLLs (``losses.bernoulli_recon`` per model)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1).mean(-1)


class StackedTrainer:
    """What every stack shares: N models of ``model_class`` built as their single runs would be,
    their networks stacked, one random generator and one optimizer state per model, each model's
    training-only noise and dropout, the epoch loop and the export. Subclasses name the networks,
    which of them each phase trains, and the step."""

    model_class: type[Autoencoder]
    networks: tuple[str, ...]  # the model's MLPs, stacked under the same names

    def __init__(self, config: ModelConfig, seeds: list[int], recipes: list[Recipe],
                 device: torch.device | str = "cpu", use_torch_optimizers: bool = True) -> None:
        if getattr(config, "encoder_type", "deterministic") != "deterministic":
            raise ValueError("stacked training supports the deterministic encoder for now")
        if config.arch != "mlp":
            raise ValueError(f"stacked training stacks MLPs; arch {config.arch!r} trains one model at a time (aae_core.train)")
        if len(seeds) != len(recipes) or not seeds:
            raise ValueError("give one recipe per seed")
        recipes = [recipe_for(self.model_class, r) for r in recipes]  # disc_noise for its own discriminators only
        for r in recipes:
            if r.hidden_dropout:
                raise ValueError("stacked training does not support hidden dropout yet: this recipe sets hidden_dropout")
            r.check(self.model_class)
        self.config, self.seeds, self.recipes = config, list(seeds), list(recipes)
        models = []
        for s, r in zip(seeds, recipes):  # each model starts exactly as its own single run would
            torch.manual_seed(s)
            models.append(self.model_class(config))
            r.initialise(models[-1], torch.Generator().manual_seed(s))  # N(0, σ) weights where the recipe says
        self.prior = models[0].prior
        self.device = torch.device(device)
        for name in self.networks:
            setattr(self, name, StackedMLP([getattr(m, name) for m in models]).to(self.device))
        self.generators = [torch.Generator(device=self.device).manual_seed(s) for s in seeds]
        # each model's noise and dropout rates, as host lists (what to draw is decided without asking
        # the device: no synchronisation inside an epoch)
        self.disc_noise = {d: [r.disc_noise.get(d, 0.0) for r in recipes] for d in self.model_class.discriminator_phases}
        self.input_noise = [r.input_noise for r in recipes]
        self.input_dropout = [r.input_dropout for r in recipes]
        self.opts = {phase: StackedOptimizer([p for net in nets for p in getattr(self, net).parameters()],
                                             [r.phase(phase) for r in recipes], use_torch=use_torch_optimizers)
                     for phase, nets in self.phase_networks().items()}

    def phase_networks(self) -> dict[str, tuple[str, ...]]:
        """Phase name → the stacked networks its optimizer updates."""
        raise NotImplementedError

    @property
    def n(self) -> int:
        return len(self.seeds)

    # -- each model's own randomness ----------------------------------------------------------
    def _per_model(self, draw, active: list[bool] | None = None) -> list[torch.Tensor | None]:
        """``draw(generator)`` for each model (None where ``active`` is False): one model's random
        stream never depends on another's."""
        return [draw(g) if active is None or a else None for g, a in zip(self.generators, active or [True] * self.n)]

    def _add_noise(self, t: torch.Tensor, std: list[float]) -> torch.Tensor:
        """t: N×B×k plus Gaussian noise of std[i] on model i's slice (drawn only where std > 0)."""
        if not any(std):
            return t
        eps = self._per_model(lambda g: torch.randn(t.shape[1:], generator=g, device=self.device), [s > 0 for s in std])
        return t + torch.stack([s * e if e is not None else t.new_zeros(t.shape[1:]) for s, e in zip(std, eps)])

    def _dropout(self, t: torch.Tensor, p: list[float]) -> torch.Tensor:
        """Inverted dropout with rate p[i] on model i's slice of t (N×B×k), as ``F.dropout`` scales it."""
        if not any(p):
            return t
        keep = self._per_model(lambda g: torch.rand(t.shape[1:], generator=g, device=self.device), [q > 0 for q in p])
        mask = torch.stack([(k >= q).to(t.dtype) / (1 - q) if k is not None else t.new_ones(t.shape[1:])
                            for k, q in zip(keep, p)])
        return t * mask

    def _noisy(self, phase: str, z: torch.Tensor) -> torch.Tensor:
        """What discriminator ``phase`` sees of codes z (N×B×k): each model's input noise for it."""
        return self._add_noise(z, self.disc_noise[phase])

    def _encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the encoder sees of x (N×B×784): each model's input noise, then its input dropout."""
        return self._dropout(self._add_noise(x, self.input_noise), self.input_dropout)

    def _prior_samples(self, b: int) -> torch.Tensor:
        """N×B×d: B samples of the prior per model, from its own generator."""
        return torch.stack(self._per_model(lambda g: self.prior.sample(b, g, device=self.device)[0]))

    def _step(self, phase: str, loss: torch.Tensor) -> torch.Tensor:
        """One update of ``phase`` on N per-model losses (their parameters are disjoint: each model
        gets its own gradient). Returns the losses, detached."""
        self.opts[phase].zero_grad()
        loss.sum().backward()
        self.opts[phase].step()
        return loss.detach()

    def _discriminator_step(self, phase: str, disc: StackedMLP, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Discriminator ``phase``: prior samples real (1), detached codes fake (0); N losses."""
        loss = per_model_bce(disc(self._noisy(phase, real)), 1.0) + per_model_bce(disc(self._noisy(phase, fake.detach())), 0.0)
        return self._step(phase, loss)

    # -- training -----------------------------------------------------------------------------
    def train_step(self, x: torch.Tensor, labelled: tuple[torch.Tensor, torch.Tensor] | None = None
                   ) -> dict[str, torch.Tensor]:
        """One mini-batch per model, x: N×B×784 (and, for a family that learns from labels, a labelled
        batch per model: images N×B×784, labels N×B). Returns each model's losses (N each, detached)."""
        raise NotImplementedError

    def _labelled_batch(self, x: torch.Tensor, b: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """A labelled batch per model for the step, drawn from x (None: the family learns without labels)."""
        return None

    def train_epoch(self, x: torch.Tensor, epoch: int, batch_size: int = 100) -> dict[str, list[float]]:
        """One epoch (0-based ``epoch``, for the step decays) on x (M×784, on the device); each model
        shuffles with its own generator. Returns each model's mean losses."""
        steps = len(x) // batch_size
        if steps < 1:
            raise ValueError(f"batch size {batch_size} is larger than the {len(x)} training images")
        for opt in self.opts.values():
            opt.set_epoch(epoch)
        perms = torch.stack(self._per_model(lambda g: torch.randperm(len(x), generator=g, device=self.device)))
        sums = {}
        for step in range(steps):
            idx = perms[:, step * batch_size:(step + 1) * batch_size]  # N×B
            for k, v in self.train_step(x[idx], self._labelled_batch(x, batch_size)).items():
                sums[k] = sums.get(k, 0) + v
        return {k: (v / steps).tolist() for k, v in sums.items()}

    def fit(self, x: torch.Tensor, epochs: int, batch_size: int = 100) -> list[dict[str, list[float]]]:
        """``epochs`` epochs from the first; per epoch each model's mean losses."""
        return [self.train_epoch(x, epoch, batch_size) for epoch in range(epochs)]

    def export(self, i: int) -> Autoencoder:
        """Model i as an ordinary model of its family (eval mode, CPU), ready for ``weights.save_model``."""
        model = self.model_class(self.config)
        for name in self.networks:
            getattr(self, name).export_into(i, getattr(model, name))
        return model.eval()


class StackedAAE(StackedTrainer):
    """N plain AAEs (one ``AAEConfig``) trained together: ``seeds`` and one recipe per model."""

    model_class = AAE
    networks = ("encoder", "decoder", "discriminator")

    def phase_networks(self) -> dict[str, tuple[str, ...]]:
        return {"ae": ("encoder", "decoder"), "d": ("discriminator",), "g": ("encoder",)}

    def train_step(self, x: torch.Tensor, labelled=None) -> dict[str, torch.Tensor]:
        # (1) reconstruction phase (the target is the clean image)
        z = self.encoder(self._encoder_input(x))  # N×B×d
        recon = self._step("ae", per_model_recon(self.decoder(z), x))
        # (2a) discriminator: prior samples real, the codes of (1) fake
        d_loss = self._discriminator_step("d", self.discriminator, self._prior_samples(x.shape[1]), z)
        # (2b) the encoder as generator, through the frozen discriminator
        with frozen(self.discriminator):
            g_loss = per_model_bce(self.discriminator(self._noisy("d", self.encoder(self._encoder_input(x)))), 1.0)
        return {"recon": recon, "d": d_loss, "g": self._step("g", g_loss)}


class frozen:
    """``with frozen(*nets):`` no gradient reaches the nets' own weights (it still flows through them)."""

    def __init__(self, *nets: nn.Module) -> None:
        self.nets = nets

    def __enter__(self) -> None:
        for net in self.nets:
            net.requires_grad_(False)

    def __exit__(self, *exc) -> None:
        for net in self.nets:
            net.requires_grad_(True)
