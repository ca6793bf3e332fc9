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
sweep axis too), unsupervised clustering and dimensionality reduction (``StackedCategoricalAAE``, in
``aae_core.stacked_categorical``) — and the label-aware plain AAEs, label-conditioned and supervised
(``StackedLabelledAAE``, in ``aae_core.stacked_labelled``: ``StackedAAE``'s step with their decoder and
discriminator inputs). Recipes with N(0, σ) init, encoder-input noise and dropout, and
discriminator noise; hidden-layer dropout (each model's own masks, drawn like the input's) in the plain
AAE's stack, refused by name in the others.
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

    def forward(self, x: torch.Tensor, after_hidden=None) -> torch.Tensor:
        """x: N×B×in → N×B×out (ReLU between layers, none after the last). ``after_hidden``: applied to
        every hidden layer's N×B×h output after its ReLU (the recipe's hidden dropout), as ``MLP`` does."""
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b[:, None, :], x, w.transpose(1, 2))  # N×B×out
            if k < last:
                x = F.relu(x)
                if after_hidden is not None:
                    x = after_hidden(x)
        return x

    @torch.no_grad()
    def import_from(self, i: int, mlp: MLP) -> None:
        """Model i's weights from an ordinary MLP of the same widths (``export_into``'s inverse)."""
        for k, layer in enumerate(m for m in mlp if isinstance(m, nn.Linear)):
            self.weights[k][i].copy_(layer.weight)
            self.biases[k][i].copy_(layer.bias)

    @torch.no_grad()
    def export_into(self, i: int, mlp: MLP) -> None:
        """Copy model i's weights into an ordinary MLP of the same widths."""
        for k, layer in enumerate(m for m in mlp if isinstance(m, nn.Linear)):
            layer.weight.copy_(self.weights[k][i])
            layer.bias.copy_(self.biases[k][i])


class StackedLinear(nn.Module):
    """N bias-free linear maps of the same shape (``nn.Linear(in, out, bias=False)``, e.g. the
    dimensionality-reduction AAE's cluster heads W) as one N×out×in weight."""

    def __init__(self, linears: list[nn.Linear]) -> None:
        super().__init__()
        if any(lin.bias is not None for lin in linears):
            raise ValueError("StackedLinear stacks bias-free linear maps")
        self.weight = nn.Parameter(torch.stack([lin.weight.detach() for lin in linears]).clone())  # N×out×in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: N×B×in → N×B×out."""
        return torch.bmm(x, self.weight.transpose(1, 2))

    @torch.no_grad()
    def import_from(self, i: int, linear: nn.Linear) -> None:
        self.weight[i].copy_(linear.weight)

    @torch.no_grad()
    def export_into(self, i: int, linear: nn.Linear) -> None:
        linear.weight.copy_(self.weight[i])


class StackedOptimizer:
    """Adam or SGD with momentum over stacked parameters (model index first), with its learning
    rate, betas or momentum per model; the same update as ``torch.optim`` applied to each model.
    Where every model has the same settings (a sweep over seeds), torch's own (fused) optimizer runs
    on the stacked tensors directly: its update is element by element, so still one per model.
    ``graph``: that optimizer as a CUDA graph can replay it — fused, a device-tensor learning rate
    changed in place, Adam's step count on the device (``capturable``)."""

    def __init__(self, params, specs: list[PhaseOptim], eps: float = 1e-8, use_torch: bool = True,
                 graph: bool = False) -> None:
        kinds = {s.kind for s in specs}
        if len(kinds) != 1:
            raise ValueError(f"stacked models must share an optimizer kind per phase, got {sorted(kinds)}")
        self.kind, self.specs, self.eps = kinds.pop(), specs, eps
        self.params = list(params)
        same = use_torch and all(s == specs[0] for s in specs)
        device = self.params[0].device
        self.shared = (self._graph_safe(specs[0], device) if graph else specs[0].build(self.params)) if same else None
        per_model = lambda values: torch.tensor(values, dtype=torch.float32, device=device)  # noqa: E731
        self.beta1, self.beta2 = per_model([s.betas[0] for s in specs]), per_model([s.betas[1] for s in specs])
        self.momentum = per_model([s.momentum for s in specs])
        # the step count and the learning rates are device tensors changed in place: a captured CUDA
        # graph reads them at every replay
        self.t = torch.zeros((), dtype=torch.float32, device=device)
        self.lr = per_model([s.lr for s in specs])
        self.state = [] if self.shared is not None else [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Each model's learning rate for the 0-based ``epoch`` (its own step decays)."""
        self.lr.copy_(torch.tensor([s.lr_at(epoch) for s in self.specs], dtype=torch.float32))
        if self.shared is not None:
            for group in self.shared.param_groups:
                if torch.is_tensor(group["lr"]):
                    group["lr"].fill_(self.specs[0].lr_at(epoch))
                else:
                    group["lr"] = self.specs[0].lr_at(epoch)

    def _graph_safe(self, spec: PhaseOptim, device: torch.device) -> torch.optim.Optimizer:
        lr = torch.tensor(spec.lr, dtype=torch.float32, device=device)
        if spec.kind == "sgd":
            return torch.optim.SGD(self.params, lr=lr, momentum=spec.momentum, fused=True)
        return torch.optim.Adam(self.params, lr=lr, betas=spec.betas, fused=True, capturable=True)

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
            else:  # torch.optim.SGD with momentum: the buffer starts as the first gradient (0·μ + g)
                m.mul_(self.momentum.view(shape)).add_(g)
                p.addcmul_(lr, m, value=-1)  # p − lr·m in one pass, no temporary


def per_model_bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """N×B×1 discriminator logits against a constant target → N mean losses (``losses.gan_*`` per model)."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target), reduction="none") \
        .flatten(1).mean(1)


def per_model_recon(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """N×B×784 logits and images → N Bernoulli NLLs (``losses.bernoulli_recon`` per model)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1).mean(-1)


class Tape:
    """Every random number a chunk of steps uses, drawn before the chunk runs: one slot per draw site
    of a step (in the order the step reaches them), each N×steps×shape, model i's rows drawn by
    ``fill(i, rows)`` from its own generator. Step k of the chunk reads slice k of each slot. The
    slots are made (and filled) as the chunk's first step reaches them, then refilled in place before
    every later chunk — so a captured CUDA graph reads fresh numbers at fixed addresses. Per model,
    the numbers come in the same order whatever the other models are: a stack of N still trains as
    N stacks of one. With one step per chunk the draws are, call for call, the unstacked step's."""

    def __init__(self, n: int, device: torch.device) -> None:
        self.n, self.device, self.steps = n, device, 1
        self.slots: list[tuple[torch.Tensor, object]] = []
        self.call = self.k = 0
        self.fresh = True  # the slots hold draws no chunk has used yet
        self.running = False  # inside a chunk; outside one (a step called on its own) every take draws afresh

    def reset(self, steps: int) -> None:
        """Chunks of ``steps`` steps from now on (the slots are made again)."""
        self.steps, self.slots, self.call, self.k, self.fresh = steps, [], 0, 0, True

    def _draw(self, buf: torch.Tensor, fill) -> torch.Tensor:
        """buf: N×steps×shape, each model's rows from its own ``fill``."""
        for i in range(self.n):
            fill(i, buf[i])
        return buf

    def start(self) -> None:
        """Before a chunk: draw its numbers (unless the slots still hold unused ones)."""
        if not self.fresh:
            for buf, fill in self.slots:
                self._draw(buf, fill)
        self.call = self.k = 0
        self.fresh, self.running = False, True

    def stop(self) -> None:
        self.running = False

    def rewind(self) -> None:
        """Run the same chunk again from its first step (after a capture that did not execute)."""
        self.call = self.k = 0

    def take(self, shape: tuple[int, ...], dtype: torch.dtype, fill) -> torch.Tensor:
        """The next draw site's numbers for this step: N×shape."""
        if not self.running:
            return self._draw(torch.empty((self.n, 1, *shape), dtype=dtype, device=self.device), fill)[:, 0]
        if self.call == len(self.slots):
            buf = torch.empty((self.n, self.steps, *shape), dtype=dtype, device=self.device)
            self.slots.append((self._draw(buf, fill), fill))
        buf = self.slots[self.call][0]
        self.call += 1
        return buf[:, self.k]

    def next_step(self) -> None:
        self.call, self.k = 0, self.k + 1


class StackedTrainer:
    """What every stack shares: N models of ``model_class`` built as their single runs would be,
    their networks stacked, one random generator and one optimizer state per model, each model's
    training-only noise and dropout, the epoch loop and the export. Subclasses name the networks,
    which of them each phase trains, and the step."""

    model_class: type[Autoencoder]
    networks: tuple[str, ...]  # the model's MLPs, stacked under the same names
    hidden_dropout_supported = False  # whether the step applies a recipe's hidden dropout (``_hidden``)

    def __init__(self, config: ModelConfig, seeds: list[int], recipes: list[Recipe],
                 device: torch.device | str = "cpu", use_torch_optimizers: bool = True,
                 cuda_graph: bool = False, max_chunk: int = 1) -> None:
        if getattr(config, "encoder_type", "deterministic") != "deterministic":
            raise ValueError("stacked training supports the deterministic encoder for now")
        if config.arch != "mlp":
            raise ValueError(f"stacked training stacks MLPs; arch {config.arch!r} trains one model at a time (aae_core.train)")
        if len(seeds) != len(recipes) or not seeds:
            raise ValueError("give one recipe per seed")
        recipes = [recipe_for(self.model_class, r) for r in recipes]  # disc_noise for its own discriminators only
        for r in recipes:
            if r.hidden_dropout and not self.hidden_dropout_supported:
                raise ValueError(f"stacked {self.model_class.model_name} training does not support hidden dropout yet: "
                                 "this recipe sets hidden_dropout")
            r.check(self.model_class)
        self.config, self.seeds, self.recipes = config, list(seeds), list(recipes)
        models = []
        for s, r in zip(seeds, recipes):  # each model starts exactly as its own single run would
            torch.manual_seed(s)
            models.append(self.model_class(config))
            r.initialise(models[-1], torch.Generator().manual_seed(s))  # N(0, σ) weights where the recipe says
        self.prior = models[0].prior
        self.device = torch.device(device)
        for name in self.networks:  # an MLP, or a bias-free linear map (the dimred AAE's heads)
            parts = [getattr(m, name) for m in models]
            stacked = StackedLinear(parts) if isinstance(parts[0], nn.Linear) else StackedMLP(parts)
            setattr(self, name, stacked.to(self.device))
        self.generators = [torch.Generator(device=self.device).manual_seed(s) for s in seeds]
        if cuda_graph and self.device.type != "cuda":
            raise ValueError(f"CUDA graphs need a CUDA device, not {self.device}")
        self.cuda_graph, self.max_chunk = cuda_graph, max(1, max_chunk)
        self.tape, self._constants = Tape(self.n, self.device), {}
        self._batch_idx: torch.Tensor | None = None
        self._graph, self._graph_out, self._graph_x, self._warm = None, None, None, False
        # each model's noise and dropout rates, as host lists (what to draw is decided without asking
        # the device: no synchronisation inside an epoch)
        self.disc_noise = {d: [r.disc_noise.get(d, 0.0) for r in recipes] for d in self.model_class.discriminator_phases}
        self.input_noise = [r.input_noise for r in recipes]
        self.input_dropout = [r.input_dropout for r in recipes]
        self.hidden_dropout = [r.hidden_dropout for r in recipes]
        self.opts = {phase: StackedOptimizer([p for net in nets for p in getattr(self, net).parameters()],
                                             [r.phase(phase) for r in recipes], use_torch=use_torch_optimizers,
                                             graph=cuda_graph)
                     for phase, nets in self.phase_networks().items()}

    def phase_networks(self) -> dict[str, tuple[str, ...]]:
        """Phase name → the stacked networks its optimizer updates."""
        raise NotImplementedError

    @property
    def n(self) -> int:
        return len(self.seeds)

    # -- each model's own randomness ----------------------------------------------------------
    def _per_model(self, draw) -> list[torch.Tensor]:
        """``draw(generator)`` for each model: one model's random stream never depends on another's."""
        return [draw(g) for g in self.generators]

    def _per_model_values(self, values: list[float]) -> torch.Tensor:
        """Per-model constants as an N-vector on the device, made once (a captured graph reads it)."""
        key = tuple(values)
        if key not in self._constants:
            self._constants[key] = torch.tensor(values, dtype=torch.float32, device=self.device)
        return self._constants[key]

    def _add_noise(self, t: torch.Tensor, std: list[float]) -> torch.Tensor:
        """t: N×B×k plus Gaussian noise of std[i] on model i's slice (drawn only where std > 0)."""
        if not any(std):
            return t
        gens = self.generators

        def fill(i: int, out: torch.Tensor) -> None:
            out.normal_(generator=gens[i]) if std[i] > 0 else out.zero_()

        eps = self.tape.take(t.shape[1:], t.dtype, fill)  # N×B×k
        return t + self._per_model_values(std).view(-1, *(1,) * (t.dim() - 1)) * eps

    def _dropout(self, t: torch.Tensor, p: list[float]) -> torch.Tensor:
        """Inverted dropout with rate p[i] on model i's slice of t (N×B×k), as ``F.dropout`` scales it."""
        if not any(p):
            return t
        gens, device = self.generators, self.device

        def fill(i: int, out: torch.Tensor) -> None:
            if p[i] > 0:
                keep = torch.rand(out.shape, generator=gens[i], device=device)
                out.copy_((keep >= p[i]).to(out.dtype) / (1 - p[i]))
            else:
                out.fill_(1.0)

        return t * self.tape.take(t.shape[1:], t.dtype, fill)

    def _hidden(self):
        """What the encoder and decoder apply after each hidden layer: each model's hidden dropout
        (None where no model has any)."""
        return (lambda h: self._dropout(h, self.hidden_dropout)) if any(self.hidden_dropout) else None

    def _noisy(self, phase: str, z: torch.Tensor) -> torch.Tensor:
        """What discriminator ``phase`` sees of codes z (N×B×k): each model's input noise for it."""
        return self._add_noise(z, self.disc_noise[phase])

    def _encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the encoder sees of x (N×B×784): each model's input noise, then its input dropout."""
        return self._dropout(self._add_noise(x, self.input_noise), self.input_dropout)

    def _prior_samples(self, b: int) -> torch.Tensor:
        """N×B×d: B samples of the prior per model, from its own generator."""
        prior, gens, device = self.prior, self.generators, self.device

        def fill(i: int, out: torch.Tensor) -> None:  # out: steps×B×d
            out.copy_(prior.sample(out.shape[0] * b, gens[i], device=device)[0].view(out.shape))

        return self.tape.take((b, prior.dim), torch.float32, fill)

    def _step(self, phase: str, loss: torch.Tensor) -> torch.Tensor:
        """One update of ``phase`` on N per-model losses (their parameters are disjoint: each model
        gets its own gradient). Returns the losses, detached."""
        self.opts[phase].zero_grad()
        loss.sum().backward()
        self.opts[phase].step()
        return loss.detach()

    def _discriminator_step(self, phase: str, disc: StackedMLP, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Discriminator ``phase``: prior samples real (1), detached codes fake (0), each with the phase's
        input noise; N losses."""
        return self._discriminator_update(phase, disc, self._noisy(phase, real), self._noisy(phase, fake.detach()))

    def _discriminator_update(self, phase: str, disc: StackedMLP, real_in: torch.Tensor,
                              fake_in: torch.Tensor) -> torch.Tensor:
        """One update of discriminator ``phase`` on what it sees of the real (1) and the fake (0)
        samples, already prepared (noise, a label slot); N losses."""
        return self._step(phase, per_model_bce(disc(real_in), 1.0) + per_model_bce(disc(fake_in), 0.0))

    # -- training -----------------------------------------------------------------------------
    def train_step(self, x: torch.Tensor, labelled: tuple[torch.Tensor, torch.Tensor] | None = None,
                   y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One mini-batch per model, x: N×B×784 (and, for a family that learns from a labelled pool, a
        labelled batch per model: images N×B×784, labels N×B; for one that reads each image's label, the
        batch's labels y: N×B, −1 where unlabelled). Returns each model's losses (N each, detached)."""
        raise NotImplementedError

    def _labelled_batch(self, x: torch.Tensor, b: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """A labelled batch per model for the step, drawn from x (None: the family learns without labels)."""
        return None

    def _batch_labels(self, idx: torch.Tensor) -> torch.Tensor | None:
        """The labels of each model's batch (idx: N×B indices into the training images), −1 where an
        image is unlabelled for that model (None: the family reads no per-image labels)."""
        return None

    def train_epoch(self, x: torch.Tensor, epoch: int, batch_size: int = 100) -> dict[str, list[float]]:
        """One epoch (0-based ``epoch``, for the step decays) on x (M×784, on the device); each model
        shuffles with its own generator. Returns each model's mean losses.

        The epoch runs in chunks of ``chunk`` steps (the largest divisor of the epoch's steps up to
        ``max_chunk``): each chunk's random numbers are drawn first, per model (``Tape``), then its
        steps run — eagerly, or as one replay of a CUDA graph that holds them all (``cuda_graph``)."""
        steps = len(x) // batch_size
        if steps < 1:
            raise ValueError(f"batch size {batch_size} is larger than the {len(x)} training images")
        chunk = max(k for k in range(1, min(self.max_chunk, steps) + 1) if steps % k == 0)
        for opt in self.opts.values():
            opt.set_epoch(epoch)
        perms = torch.stack(self._per_model(lambda g: torch.randperm(len(x), generator=g, device=self.device)))
        batches = perms[:, :steps * batch_size].view(self.n, steps // chunk, chunk, batch_size)  # N×chunks×K×B
        if self._batch_idx is None or self._batch_idx.shape != batches[:, 0].shape:
            self._batch_idx, self._graph = torch.empty_like(batches[:, 0]), None  # N×K×B, static
            self.tape.reset(chunk)
        sums: dict[str, torch.Tensor] = {}
        for c in range(steps // chunk):
            self.tape.start()  # this chunk's draws (after the first, which draws as it goes)
            self._batch_idx.copy_(batches[:, c])
            out = self._run_chunk(x, batch_size)
            for k, v in out.items():
                sums[k] = sums[k] + v if k in sums else v.clone()
        self.tape.stop()
        return {k: (v / steps).tolist() for k, v in sums.items()}

    def _chunk(self, x: torch.Tensor, b: int) -> dict[str, torch.Tensor]:
        """The chunk's steps (what a CUDA graph captures): each model's batches from ``_batch_idx``,
        its random numbers from the tape. Returns each model's summed losses (N each)."""
        sums: dict[str, torch.Tensor] = {}
        for k in range(self._batch_idx.shape[1]):
            idx = self._batch_idx[:, k]  # N×B
            xb = x.index_select(0, idx.reshape(-1)).view(self.n, b, -1)  # N×B×784
            for name, v in self.train_step(xb, self._labelled_batch(x, b), self._batch_labels(idx)).items():
                sums[name] = sums[name] + v if name in sums else v
            self.tape.next_step()
        return sums

    def _run_chunk(self, x: torch.Tensor, b: int) -> dict[str, torch.Tensor]:
        """Eagerly, or by the captured graph: the first chunk runs eagerly on a side stream (the
        warm-up capture needs), the second is captured and replayed, every later one replayed.
        Where capture fails the trainer says why and goes on eagerly."""
        if not self.cuda_graph:
            return self._chunk(x, b)
        if self._graph is not None and self._graph_x == (x.data_ptr(), x.shape):
            self._graph.replay()
            return self._graph_out
        if not self._warm:
            side = torch.cuda.Stream(device=self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                out = self._chunk(x, b)
            torch.cuda.current_stream(self.device).wait_stream(side)
            self._warm = True
            return out
        try:
            for opt in self.opts.values():
                opt.zero_grad()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                out = self._chunk(x, b)
        except Exception as exc:  # noqa: BLE001  (any capture failure: say why, train on eagerly)
            print(f"CUDA graph capture failed ({type(exc).__name__}: {str(exc)[:300]}); training eagerly", flush=True)
            self.cuda_graph = False
            self.tape.rewind()
            return self._chunk(x, b)
        self._graph, self._graph_out, self._graph_x = graph, out, (x.data_ptr(), x.shape)
        graph.replay()
        return out

    def fit(self, x: torch.Tensor, epochs: int, batch_size: int = 100) -> list[dict[str, list[float]]]:
        """``epochs`` epochs from the first; per epoch each model's mean losses."""
        return [self.train_epoch(x, epoch, batch_size) for epoch in range(epochs)]

    def warm_start(self, i: int, model: Autoencoder) -> list[str]:
        """Model i continues an ordinary model of its family and config — a shipped one, or one an
        earlier run brought home: its shipped networks (encoder, decoder) are copied in; what a
        weights folder does not hold (the discriminators, the optimizer's momenta) starts afresh.
        Returns the networks copied."""
        if type(model) is not self.model_class or model.config.to_dict() != self.config.to_dict():
            raise ValueError(f"cannot warm-start a stacked {self.model_class.model_name} ({self.config.to_dict()}) "
                             f"from a {model.model_name} ({model.config.to_dict()}): the family and config must match")
        names = [m for m in model.inference_modules if m in self.networks]
        for m in names:
            getattr(self, m).import_from(i, getattr(model, m))
        return names

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
    hidden_dropout_supported = True

    def phase_networks(self) -> dict[str, tuple[str, ...]]:
        return {"ae": ("encoder", "decoder"), "d": ("discriminator",), "g": ("encoder",)}

    def _decoder_in(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """What the decoder reads: the code z (N×B×d); the supervised AAE puts the one-hot label first."""
        return z

    def _prior_for_discriminator(self, b: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """N×B×d prior samples per model and, where the discriminator is told them, their components."""
        return self._prior_samples(b), None

    def _disc_in(self, z: torch.Tensor, component: torch.Tensor | None, y: torch.Tensor | None) -> torch.Tensor:
        """What the discriminator sees of codes z (N×B×d): each model's noise on them (the
        label-conditioned AAE appends a one-hot label)."""
        return self._noisy("d", z)

    def train_step(self, x: torch.Tensor, labelled=None, y=None) -> dict[str, torch.Tensor]:
        # (1) reconstruction phase (the target is the clean image)
        hidden = self._hidden()  # each model's dropout after every hidden layer of encoder and decoder
        z = self.encoder(self._encoder_input(x), hidden)  # N×B×d
        recon = self._step("ae", per_model_recon(self.decoder(self._decoder_in(z, y), hidden), x))
        # (2a) discriminator: prior samples real, the codes of (1) fake
        z_real, component = self._prior_for_discriminator(x.shape[1])
        real, fake = self._disc_in(z_real, component, y), self._disc_in(z.detach(), None, y)
        d_loss = self._discriminator_update("d", self.discriminator, real, fake)
        # (2b) the encoder as generator, through the frozen discriminator
        with frozen(self.discriminator):
            g_loss = per_model_bce(self.discriminator(self._disc_in(self.encoder(self._encoder_input(x), hidden), None, y)), 1.0)
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
