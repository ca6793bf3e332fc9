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

For now: the plain AAE family (deterministic encoder); recipes with N(0, σ) init, encoder-input
noise and discriminator noise (dropout is refused by name).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aae_core.models.aae import AAE, AAEConfig
from aae_core.nets import MLP
from aae_core.recipes import PhaseOptim, Recipe


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


class StackedAAE:
    """N plain AAEs (one config) trained together: ``seeds`` and one recipe per model."""

    def __init__(self, config: AAEConfig, seeds: list[int], recipes: list[Recipe],
                 device: torch.device | str = "cpu", use_torch_optimizers: bool = True) -> None:
        if config.encoder_type != "deterministic":
            raise ValueError("stacked training supports the deterministic encoder for now")
        if len(seeds) != len(recipes) or not seeds:
            raise ValueError("give one recipe per seed")
        for r in recipes:
            if r.input_dropout or r.hidden_dropout:
                raise ValueError("stacked training does not support dropout yet: this recipe sets input or hidden dropout")
        self.config, self.seeds, self.recipes = config, list(seeds), list(recipes)
        models = []
        for s, r in zip(seeds, recipes):  # each model starts exactly as its own single run would
            torch.manual_seed(s)
            models.append(AAE(config))
            r.initialise(models[-1], torch.Generator().manual_seed(s))  # N(0, σ) weights where the recipe says
        self.template = models[0]
        self.prior = self.template.prior
        self.device = torch.device(device)
        self.encoder = StackedMLP([m.encoder for m in models]).to(self.device)
        self.decoder = StackedMLP([m.decoder for m in models]).to(self.device)
        self.discriminator = StackedMLP([m.discriminator for m in models]).to(self.device)
        self.generators = [torch.Generator(device=self.device).manual_seed(s) for s in seeds]
        self.disc_noise = torch.tensor([r.disc_noise.get("d", 0.0) for r in recipes], device=self.device)
        self.input_noise = torch.tensor([r.input_noise for r in recipes], device=self.device)
        spec = lambda phase: [r.phase(phase) for r in recipes]  # noqa: E731
        opt = lambda params, phase: StackedOptimizer(params, spec(phase), use_torch=use_torch_optimizers)  # noqa: E731
        self.opts = {"ae": opt([*self.encoder.parameters(), *self.decoder.parameters()], "ae"),
                     "d": opt(self.discriminator.parameters(), "d"), "g": opt(self.encoder.parameters(), "g")}

    @property
    def n(self) -> int:
        return len(self.seeds)

    def _add_noise(self, t: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        """t: N×B×k plus Gaussian noise of std[i] on model i's slice, drawn from model i's own generator
        and only for models with std > 0, so that no model's random stream depends on another's."""
        if not bool((std > 0).any()):
            return t
        eps = torch.stack([torch.randn(t.shape[1:], generator=g, device=self.device) if float(s) > 0
                           else t.new_zeros(t.shape[1:]) for g, s in zip(self.generators, std)])
        return t + std.view(-1, 1, 1) * eps

    def _noisy(self, z: torch.Tensor) -> torch.Tensor:
        """What the discriminator sees of codes z (N×B×d): each model's discriminator-input noise."""
        return self._add_noise(z, self.disc_noise)

    def _encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the encoder sees of x (N×B×784): each model's encoder-input noise."""
        return self._add_noise(x, self.input_noise)

    def train_step(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """One mini-batch per model, x: N×B×784. Returns each model's losses (N each, detached)."""
        n, b = x.shape[:2]
        # (1) reconstruction phase (the target is the clean image)
        z = self.encoder(self._encoder_input(x))  # N×B×d
        recon = F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="none").sum(-1).mean(-1)  # N
        self.opts["ae"].zero_grad()
        recon.sum().backward()  # the models' parameters are disjoint: each gets its own gradient
        self.opts["ae"].step()
        # (2a) discriminator: prior samples real, the codes of (1) fake
        real = torch.stack([self.prior.sample(b, g, device=self.device)[0] for g in self.generators])  # N×B×d
        d_real, d_fake = self.discriminator(self._noisy(real)), self.discriminator(self._noisy(z.detach()))
        d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real), reduction="none").mean((1, 2))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake), reduction="none").mean((1, 2)))
        self.opts["d"].zero_grad()
        d_loss.sum().backward()
        self.opts["d"].step()
        # (2b) the encoder as generator, through the frozen discriminator
        self.discriminator.requires_grad_(False)
        try:
            g_logits = self.discriminator(self._noisy(self.encoder(self._encoder_input(x))))
            g_loss = F.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits), reduction="none").mean((1, 2))
        finally:
            self.discriminator.requires_grad_(True)
        self.opts["g"].zero_grad()
        g_loss.sum().backward()
        self.opts["g"].step()
        return {"recon": recon.detach(), "d": d_loss.detach(), "g": g_loss.detach()}

    def train_epoch(self, x: torch.Tensor, epoch: int, batch_size: int = 100) -> dict[str, list[float]]:
        """One epoch (0-based ``epoch``, for the step decays) on x (M×784, on the device); each model
        shuffles with its own generator. Returns each model's mean losses."""
        steps = len(x) // batch_size
        if steps < 1:
            raise ValueError(f"batch size {batch_size} is larger than the {len(x)} training images")
        for opt in self.opts.values():
            opt.set_epoch(epoch)
        perms = torch.stack([torch.randperm(len(x), generator=g, device=self.device) for g in self.generators])
        sums = {}
        for step in range(steps):
            idx = perms[:, step * batch_size:(step + 1) * batch_size]  # N×B
            for k, v in self.train_step(x[idx]).items():
                sums[k] = sums.get(k, 0) + v
        return {k: (v / steps).tolist() for k, v in sums.items()}

    def fit(self, x: torch.Tensor, epochs: int, batch_size: int = 100) -> list[dict[str, list[float]]]:
        """``epochs`` epochs from the first; per epoch each model's mean losses."""
        return [self.train_epoch(x, epoch, batch_size) for epoch in range(epochs)]

    def export(self, i: int) -> AAE:
        """Model i as an ordinary AAE (eval mode, CPU), ready for ``weights.save_model``."""
        model = AAE(self.config)
        self.encoder.export_into(i, model.encoder)
        self.decoder.export_into(i, model.decoder)
        self.discriminator.export_into(i, model.discriminator)
        return model.eval()
