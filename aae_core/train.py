"""Training CLI: ``python -m aae_core.train --help``.

Trains one model on MNIST (or Fashion-MNIST, or any IDX files): parses the command, builds the
model, its recipe and its data, runs the training loop (``aae_core.fit``: a resumable checkpoint
after every epoch, a clear stop on a NaN/inf loss) and at the end writes a complete weights folder
with the test-set metrics and test codes (``aae_core.run_folder``, ``aae_core.weights``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

from aae_core.data import DATASETS, DataError, labelled_subset, load_dataset, split_indices
from aae_core.evaluate import SELECTION_METRICS, EvalData, selection_metric_name, selection_score
from aae_core.fit import CHECKPOINT, STOPPED, DivergenceError, TrainSettings, epoch_seed, load_checkpoint, \
    save_checkpoint, train
from aae_core.priors import list_priors
from aae_core.recipes import RECIPES, Recipe, get_recipe, recipe_for
from aae_core.registry import get_model_class, list_models
from aae_core.run_folder import as_stored, describe_data, hardware_name, run_card, save_run
from aae_core.weights import DTYPES

# the loop's and the run folder's names stay importable from here, as they long were
__all__ = ["CHECKPOINT", "DIVERGED", "STOPPED", "DivergenceError", "TrainSettings", "as_stored", "build_config",
           "build_recipe", "describe_data", "epoch_seed", "hardware_name", "load_checkpoint", "main", "parse_args",
           "run_card", "save_checkpoint", "save_run", "train"]

DIVERGED = 4  # the exit code of a run that stopped on a NaN/inf loss (3: any other failure)


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



if __name__ == "__main__":
    sys.exit(main())
