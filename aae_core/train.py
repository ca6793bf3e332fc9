"""Training CLI: ``python -m aae_core.train --help``.

Trains one model on MNIST (or Fashion-MNIST, or any IDX files), writes a resumable checkpoint
after every epoch (atomically: a run killed mid-epoch resumes from the last full epoch), stops
with a clear message on a NaN/inf loss, and at the end writes a complete weights folder with the
test-set metrics and test codes (see ``aae_core.weights``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from aae_core.data import DATASETS, DataError, labelled_subset, load_dataset, split_indices
from aae_core.card_text import card_markdown
from aae_core.evaluate import SELECTION_METRICS, EvalData, evaluate, selection_metric_name, selection_score
from aae_core.models import Batch  # (importing the package registers the models)
from aae_core.priors import list_priors
from aae_core.recipes import RECIPES, Recipe, get_recipe, recipe_for
from aae_core.registry import get_model_class, list_models
from aae_core.weights import DTYPES, dequantize_int8, quantize_int8, save_model, write_json

CHECKPOINT = "checkpoint.pt"
STOPPED = "stopped.json"  # written beside the checkpoint when a run stops on a NaN/inf loss
DIVERGED = 4  # the exit code of a run that stopped on a NaN/inf loss (3: any other failure)


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m aae_core.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=list_models(), default="aae", help="model family")
    p.add_argument("--prior", choices=list_priors(), default=None,
                   help="prior p(z) (default: the model's own, e.g. N(0, 5²I) for the AAE)")
    p.add_argument("--prior-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="prior parameter, e.g. std=5 (repeatable)")
    p.add_argument("--latent-dim", type=int, default=None, help="code size (default: the model's own)")
    p.add_argument("--hidden", default="1000,1000",
                   help="hidden widths of encoder/decoder and of the discriminators (paper: 1000,1000)")
    p.add_argument("--recipe", choices=sorted(RECIPES), default=None,
                   help="training recipe: optimizer per phase, noise, dropout, init (default: the family's own; "
                        "see aae_core/recipes.py)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any other config field (encoder_type=gaussian) or recipe setting (g.lr=1e-4, "
                        "ae.decay_at=[50], disc_noise.d=0.3, input_noise=0.3; repeatable)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--time-budget", type=float, default=0.0, metavar="SECONDS",
                   help="stop after the epoch that uses up this much training time (0: none); the run is "
                        "evaluated and saved as usual, its card says how many epochs it did")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="folder with the four IDX files (default: download to a cache)")
    p.add_argument("--dataset", choices=DATASETS, default="mnist",
                   help="which files to expect; 'idx' accepts any IDX files with the standard names")
    p.add_argument("--limit", type=int, default=None, help="train on the first N training images only")
    p.add_argument("--val-size", type=int, default=0,
                   help="hold out the last N training images as the validation split (the paper protocol: 10000)")
    p.add_argument("--select-every", type=int, default=1,
                   help="with --val-size: score the validation split every N epochs and ship the best epoch")
    p.add_argument("--select-by", choices=SELECTION_METRICS, default=None,
                   help="validation metric that picks the epoch (default: the family's own; models with a "
                        "categorical code use their classification or clustering error)")
    p.add_argument("--labels", type=_labels_arg, default=None, metavar="N|all",
                   help="give the labels of N training images (the same number per digit) or of all of them")
    p.add_argument("--label-seed", type=int, default=0, help="seed that draws the labelled images")
    p.add_argument("--out", required=True, help="output folder (weights folder; checkpoint.pt while training)")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint in --out")
    p.add_argument("--weights", choices=DTYPES, default="int8",
                   help="how the final weights are stored: int8 with a scale per row (default; metrics are "
                        "computed on exactly these), float16 or float32")
    p.add_argument("--half", action="store_const", const="float16", dest="weights", help="same as --weights float16")
    p.add_argument("--device", default="auto", help="cpu, cuda, or auto")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--description", default="", help="one line for the model card")
    p.add_argument("--no-progress", action="store_true", help="no live progress bar (one line per epoch only)")
    return p.parse_args(argv)


def _labels_arg(text: str):
    if text == "all":
        return "all"
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of labelled images or 'all', got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"the number of labelled images must be >= 1, got {n}")
    return n


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: list[str], flag: str) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} expects KEY=VALUE, got {item!r}")
        out[key.replace("-", "_")] = _parse_value(value)
    return out


def build_config(args: argparse.Namespace):
    cls = get_model_class(args.model)
    try:
        hidden = tuple(int(h) for h in args.hidden.split(","))
    except ValueError:
        raise ValueError(f"--hidden expects comma-separated integers, got {args.hidden!r}") from None
    fields = {"hidden": hidden}
    if "disc_hidden" in {f.name for f in dataclasses.fields(cls.config_class)}:
        fields["disc_hidden"] = hidden
    if args.latent_dim is not None:
        fields["latent_dim"] = args.latent_dim
    prior_args = _pairs(args.prior_arg, "--prior-arg")
    if args.prior is not None or prior_args:
        default = cls.config_class.__dataclass_fields__["prior"].default_factory()
        name = args.prior or default["name"]
        fields["prior"] = {"name": name, **(prior_args if args.prior else {**default, **prior_args})}
    known = {f.name for f in dataclasses.fields(cls.config_class)}
    settings = _pairs(args.set, "--set")
    fields.update({k: v for k, v in settings.items() if k in known})
    try:
        config = cls.config_class.from_dict(fields)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    return cls, config, build_recipe(cls, args.recipe, {k: v for k, v in settings.items() if k not in known})


def build_recipe(cls, name: str | None, overrides: dict) -> Recipe:
    """The named recipe (default: the family's own) with ``--set`` overrides, kept to the model's own
    discriminators; a setting the recipe or the model does not know is an error."""
    phases = set(cls.phases) | {p.split("_")[0] for p in cls.phases}  # "d" also sets d_y and d_z
    for key in overrides:
        head, _, rest = key.partition(".")
        if rest and head != "disc_noise" and head not in phases:
            raise ValueError(f"--set {key}: {cls.model_name} has no training phase {head!r} "
                             f"(its phases: {', '.join(cls.phases)})")
    recipe = recipe_for(cls, get_recipe(name or cls.default_recipe)).with_overrides(overrides)
    recipe.check(cls)
    return recipe


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        for name in ("epochs", "batch_size"):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1")
        cls, config, recipe = build_config(args)
        device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                              else ("cpu" if args.device == "auto" else args.device))
        if args.threads:
            torch.set_num_threads(args.threads)
        train_split = load_dataset(args.data, "train", args.dataset)
        test_split = load_dataset(args.data, "test", args.dataset)
        tr, va = split_indices(len(train_split.labels), args.val_size, args.limit)
        y_train = train_split.labels[tr].astype(np.int64)
        if args.labels is None:
            y = None
        elif args.labels == "all":
            y = y_train.copy()
        else:
            y = np.full(len(y_train), -1, dtype=np.int64)
            chosen = labelled_subset(y_train, args.labels, args.label_seed)
            y[chosen] = y_train[chosen]
        if cls.training_labels == "all" and args.labels != "all":
            raise ValueError(f"--model {args.model} needs every label: pass --labels all")
    except (ValueError, KeyError, DataError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    flat = train_split.flat_float()
    x = torch.from_numpy(flat[tr]).to(device)  # N×784, resident on the device
    n = len(x)
    val_x = torch.from_numpy(flat[va]).to(device) if args.val_size else None  # V×784
    val_y = train_split.labels[va].astype(np.int64) if args.val_size else None
    labelled = y is not None and cls.training_labels != "none"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    model = cls(config).to(device)
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                             select_every=args.select_every if args.val_size else 0, recipe=recipe,
                             time_budget_s=args.time_budget)
    fingerprint = {"dataset": args.dataset, "n": n, "val_size": args.val_size, "labels": args.labels,
                   "label_seed": args.label_seed}
    select = (lambda m: selection_score(m, val_x, val_y, labelled, args.select_by)) if args.val_size else None
    try:
        run = train(model, x, settings, out, fingerprint, resume=not args.restart, progress=not args.no_progress,
                    y=None if y is None else torch.from_numpy(y).to(device), select=select)
    except DivergenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return DIVERGED
    except (RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    data = EvalData(train_x=x, train_y=y_train, test_x=torch.from_numpy(test_split.flat_float()).to(device),
                    test_y=test_split.labels.astype(np.int64), val_x=val_x, val_y=val_y, labelled=labelled)
    n_labels = 0 if y is None else int((y >= 0).sum())
    card = run_card(
        out.name, model, recipe, args.recipe or cls.default_recipe, run, description=args.description,
        dataset=args.dataset, n=n, val=va if args.val_size else None, n_labels=n_labels, label_seed=args.label_seed,
        labelled=labelled, epochs=args.epochs,
        selection_metric=selection_metric_name(model, labelled, args.select_by) if args.val_size else None,
        batch_size=args.batch_size, seed=args.seed, device=device, weights=args.weights,
        command="python -m aae_core.train " + shlex.join(argv if argv is not None else sys.argv[1:]))
    scores = save_run(model, out, card, data, args.weights)
    if run["epochs_done"] >= args.epochs:  # finished: the folder now holds the model
        (out / CHECKPOINT).unlink(missing_ok=True)
    # else stopped by its time budget: the checkpoint stays, so the same command resumes it
    print(json.dumps({"out": str(out), **scores}, indent=2))
    return 0


def hardware_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"CPU ({platform.machine()}, {threads} thread{'s' if threads > 1 else ''})"


def run_card(name: str, model, recipe: Recipe, recipe_name: str, run: dict, *, description: str, dataset: str,
             n: int, val: slice | None, n_labels: int, label_seed: int, labelled: bool, epochs: int,
             selection_metric: str | None, batch_size: int, seed: int, device: torch.device, weights: str,
             command: str) -> dict:
    """A trained run's card (without its test metrics, which ``save_run`` adds): what was trained,
    on what, how, for how long, where, and the command that did it. ``val``: the validation split's
    slice of the training set; ``run``: what ``train`` returns (history, best, epochs_done, wall_s)."""
    config = model.config
    return {
        "name": name, "model": model.model_name, "description": description,
        "latent_dim": config.latent_dim, "prior": config.prior, "config": config.to_dict(),
        "recipe_name": recipe_name, "recipe": recipe.to_dict(),
        "dataset": dataset, "data": describe_data(dataset, n, val.stop - val.start if val else 0, n_labels, label_seed),
        "train_images": n, "val_images": [val.start, val.stop] if val else None,
        "labels": n_labels, "label_seed": label_seed, "labelled": labelled,
        "epochs": epochs, "epochs_done": run["epochs_done"],
        "selected_epoch": run["best"].get("epoch", run["epochs_done"]),
        "selection_metric": selection_metric, "selection": run["best"], "batch_size": batch_size, "seed": seed,
        "wall_s": run["wall_s"], "hardware": hardware_name(device), "torch": torch.__version__,
        "weights_dtype": weights, "command": command, "history": run["history"],
    }


def save_run(model, out: Path, card: dict, data: EvalData, weights: str, card_only: bool = False) -> dict:
    """Evaluate what ships (the weights rounded as the folder stores them) on ``data``'s test set,
    add the scores to ``card`` and write the complete weights folder — or, with ``card_only``, only
    its card.json (a sweep's other seeds: their numbers without the time and bytes of their weights).
    Returns the scores."""
    model.load_inference_state_dict(as_stored(model.inference_state_dict(), weights))
    scores, codes = evaluate(model, data, seed=0)
    card = {**{k: v for k, v in card.items() if k != "history"}, "metrics": scores, "history": card["history"]}
    if card_only:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "card.json", card)
    else:
        save_model(model.cpu(), out, card=card, dtype=weights, card_markdown=card_markdown(out.name, card), codes=codes)
    return scores


def as_stored(state: dict[str, torch.Tensor], dtype: str) -> dict[str, torch.Tensor]:
    """The weights as a folder stores them and a load returns them (rounded to float16 or int8)."""
    if dtype == "int8":
        return dequantize_int8(quantize_int8(state), Path("memory"))
    return {k: v.to(getattr(torch, dtype)).float() for k, v in state.items()}


def describe_data(dataset: str, n: int, val_size: int, n_labels: int, label_seed: int) -> str:
    text = f"{dataset} training set, first {n:,} images" if n < 60_000 else f"{dataset} training set ({n:,} images)"
    if val_size:
        text += f"; validation split: the last {val_size:,} training images (model selection only)"
    if n_labels:
        text += (f"; labels of all {n_labels:,}" if n_labels == n
                 else f"; labels of {n_labels:,} of them (the same number per digit, label seed {label_seed}), the rest unlabelled")
    return text


if __name__ == "__main__":
    sys.exit(main())
