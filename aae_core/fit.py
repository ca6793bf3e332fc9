"""The training loop of one model: ``train`` runs a recipe's epochs on data already on the device,
writes a resumable checkpoint after every epoch (atomically: a run killed mid-epoch resumes from the
last full epoch), stops with a clear message on a NaN/inf loss, and keeps the weights of the best
validation epoch. The CLI that builds a model and its data around it is ``aae_core.train``; what a
finished run leaves on disk is ``aae_core.run_folder``.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from aae_core.models import Batch  # (importing the package registers the models)
from aae_core.recipes import Recipe, get_recipe, recipe_for

CHECKPOINT = "checkpoint.pt"
STOPPED = "stopped.json"  # written beside the checkpoint when a run stops on a NaN/inf loss


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite."""


@dataclass
class TrainSettings:
    epochs: int = 10
    batch_size: int = 100
    seed: int = 0
    log_every: int = 50  # host synchronisations (for the progress bar and the NaN check) per N steps
    select_every: int = 0  # score the validation split every N epochs and keep the best (0: keep the last)
    recipe: Recipe | None = None  # how to train (None: the model family's default recipe)
    time_budget_s: float = 0.0  # stop after the epoch that uses it up (0: no limit); the run still finishes
    history: list = field(default_factory=list)
    best: dict = field(default_factory=dict)  # {"epoch", "score", **validation metrics} of the kept weights


def _labels_for(model, y: torch.Tensor | None, n: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(per-image labels for the batches, indices of the labelled pool) as the model uses them."""
    use = model.training_labels
    if use == "none" or (y is None and use == "pool"):
        return None, None
    if y is None or (use == "all" and bool((y < 0).any())):
        raise ValueError(f"{model.model_name} needs a label for every training image (--labels all)")
    if len(y) != n:
        raise ValueError(f"{len(y)} labels for {n} training images")
    if use == "pool":
        pool = (y >= 0).nonzero().squeeze(1)
        return None, (pool if len(pool) else None)
    return y, None


def epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % (2**63 - 1)


def _state(model, opts, epoch: int, settings: TrainSettings, fingerprint: dict, wall: float,
           best_state: dict) -> dict:
    return {
        "model": model.state_dict(),
        "opts": {k: o.state_dict() for k, o in opts.items()},
        "best": best_state,
        "epoch": torch.tensor(epoch),
        "meta": json.dumps({"model": model.model_name, "config": model.config.to_dict(), "seed": settings.seed,
                            "batch_size": settings.batch_size, "data": fingerprint,
                            "recipe": settings.recipe.to_dict(),
                            "history": settings.history, "best": settings.best, "wall_s": wall}),
    }


def save_checkpoint(path: Path, state: dict) -> None:
    """Write the checkpoint atomically: a kill or a full disk leaves the previous one intact."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)  # atomic: either the old or the new checkpoint
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"could not write the checkpoint {path} ({exc}); the previous one is intact") from None


def load_checkpoint(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state["meta"] = json.loads(state["meta"])
        return state
    except Exception as exc:  # any corruption: explain, never unpickle arbitrary objects
        raise RuntimeError(f"{path}: unreadable checkpoint ({exc}); delete it or pass --restart") from None


def train(model, x: torch.Tensor, settings: TrainSettings, out: Path | None = None,
          fingerprint: dict | None = None, resume: bool = True, progress: bool = True, log: bool = True,
          y: torch.Tensor | None = None, select=None) -> dict:
    """Train ``model`` on x (N×784, already on the target device). Returns the run's meta.

    y: N int64 labels on the same device, −1 for an unlabelled image (None: no labels); the model's
    ``training_labels`` says how they are used. ``select(model) -> {"score": lower is better, ...}``
    scores the validation split every ``settings.select_every`` epochs; the best-scoring weights are
    the ones left in the model at the end. ``progress`` shows a live bar; ``log`` prints one line
    per epoch."""
    fingerprint = fingerprint or {"n": len(x)}
    batch_y, pool = _labels_for(model, y, len(x))
    if settings.recipe is None:
        settings.recipe = recipe_for(model, get_recipe(model.default_recipe))
    recipe = settings.recipe
    model.use_recipe(recipe)
    opts = recipe.build_optimizers(model)
    start, wall0 = 0, 0.0
    best_state: dict[str, torch.Tensor] = {}
    ckpt = out / CHECKPOINT if out is not None else None
    if out is not None:
        (out / STOPPED).unlink(missing_ok=True)  # a new attempt: an earlier stop no longer applies
    if ckpt is not None and ckpt.exists() and resume:
        state = load_checkpoint(ckpt)
        meta = state["meta"]
        mine = {"model": model.model_name, "config": model.config.to_dict(), "seed": settings.seed,
                "batch_size": settings.batch_size, "data": fingerprint, "recipe": recipe.to_dict()}
        theirs = {k: meta.get(k) for k in mine}
        if theirs != mine:
            diff = sorted(k for k in mine if mine[k] != theirs[k])
            raise RuntimeError(f"{ckpt}: checkpoint is from a different run (differs in {diff}); "
                               "use another --out or pass --restart")
        model.load_state_dict(state["model"])
        for k, o in opts.items():
            o.load_state_dict(state["opts"][k])
        start, wall0 = int(state["epoch"]), meta["wall_s"]
        settings.history, settings.best, best_state = meta["history"], meta.get("best", {}), state.get("best", {})
        if log:
            print(f"resuming from {ckpt} after epoch {start}", file=sys.stderr)
    else:
        recipe.initialise(model, torch.Generator().manual_seed(settings.seed))

    n, bs = len(x), settings.batch_size
    steps = n // bs  # drop the last partial batch: every step sees a full batch
    if steps < 1:
        raise ValueError(f"batch size {bs} is larger than the {n} training images")
    t0 = time.perf_counter()
    for epoch in range(start, settings.epochs):
        torch.manual_seed(epoch_seed(settings.seed, epoch))
        recipe.set_epoch(opts, epoch)
        perm = torch.randperm(n, device=x.device)
        model.train()
        sums: dict[str, torch.Tensor] = {}
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{settings.epochs}", disable=not progress,
                   leave=False, file=sys.stderr)
        for step in bar:
            idx = perm[step * bs:(step + 1) * bs]
            batch = Batch(x=x[idx], y=None if batch_y is None else batch_y[idx])  # bs×784, bs
            if pool is not None:  # a labelled batch for the semi-supervised phase, drawn with replacement
                lab = pool[torch.randint(len(pool), (bs,), device=x.device)]
                batch.x_lab, batch.y_lab = x[lab], y[lab]
            step_losses = model.train_step(batch, opts)
            for k, v in step_losses.items():
                sums[k] = sums.get(k, 0) + v
            if (step + 1) % settings.log_every == 0 or step + 1 == steps:
                means = {k: (v / (step + 1)).item() for k, v in sums.items()}  # the only host sync
                if not all(math.isfinite(v) for v in means.values()):
                    if ckpt is not None:  # say why the run stopped, beside its last checkpoint
                        (out / STOPPED).write_text(json.dumps({"reason": "diverged", "epoch": epoch + 1,
                                                               "step": step + 1, "losses": str(means),
                                                               "history": settings.history}) + "\n")
                    raise DivergenceError(
                        f"training diverged in epoch {epoch + 1}, step {step + 1}: losses {means}. "
                        "Nothing was written for this epoch; the last checkpoint is intact. "
                        "Try a lower learning rate or another seed.")
                bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()})
        wall = wall0 + time.perf_counter() - t0
        entry = {"epoch": epoch + 1, **means, "wall_s": round(wall, 2)}
        out_of_time = bool(settings.time_budget_s) and time.perf_counter() - t0 >= settings.time_budget_s
        if select is not None and settings.select_every and (
                (epoch + 1) % settings.select_every == 0 or epoch + 1 == settings.epochs or out_of_time):
            model.eval()
            scores = select(model)
            entry.update({f"val_{k}": v for k, v in scores.items()})
            if not settings.best or scores["score"] < settings.best["score"]:
                settings.best = {"epoch": epoch + 1, **scores}
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.inference_state_dict().items()}
        settings.history.append(entry)
        if log:
            print(f"epoch {epoch + 1}/{settings.epochs} " + " ".join(
                f"{k}={v:.4f}" for k, v in entry.items() if k not in ("epoch", "wall_s")) + f" ({wall:.0f} s)",
                file=sys.stderr)
        if ckpt is not None:
            save_checkpoint(ckpt, _state(model, opts, epoch + 1, settings, fingerprint, wall, best_state))
        if out_of_time and epoch + 1 < settings.epochs:
            if log:
                print(f"time budget of {settings.time_budget_s:.0f} s used up after epoch {epoch + 1}", file=sys.stderr)
            break
    if best_state:
        model.load_inference_state_dict(best_state)
    model.eval()
    return {"history": settings.history, "wall_s": wall0 + time.perf_counter() - t0, "start_epoch": start,
            "best": settings.best, "epochs_done": settings.history[-1]["epoch"] if settings.history else start}

