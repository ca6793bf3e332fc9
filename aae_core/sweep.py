"""Validation sweeps with stacked models: ``python -m aae_core.sweep --help``.

Trains a grid of recipes × seeds (× label counts, for the families that learn from labels) of one
family — the plain AAE, the semi-supervised, clustering or dimensionality-reduction AAE, the
label-conditioned or supervised AAE — as one set of stacked models (``aae_core.stacked``,
``aae_core.stacked_categorical``, ``aae_core.stacked_labelled``), scores every model on the validation
split (the last ``--val-size`` training images) every ``--every`` epochs — classification error (a
categorical code with labels), clustering error by the majority rule (clusters), else the family's
metric (prior distance, conditional prior distance, reconstruction NLL) — and writes, into ``--out``:
``sweep.json`` (the grid, each model's validation curve and best epoch), ``table.md`` (per setting: the
best validation score, mean ± std over the seeds, and which recipe wins) and ``curves.png`` (validation
score by epoch, one panel per setting, one line per seed). The test set is never read: a sweep chooses,
the shipped model's card reports. A labelled run's labelled images are drawn from the training split
with its own seed (the same number per digit), so the ± covers both the initialisation and the choice
of labels.

    python -m aae_core.sweep --data ../shared/data/mnist --prior mixture10 --hidden 500,500 \\
        --recipes adam-balanced,adam-musyoku --seeds 0,1,2 --epochs 20 --every 2 --out runs/sweep-mixture
    python -m aae_core.sweep --data ../shared/data/mnist --family semi-aae --labels 100,1000,all \\
        --recipes paper-sgd-semi --seeds 0,1,2,3,4 --epochs 500 --every 10 --device cuda --out runs/semi
"""
from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from aae_core.data import DATASETS, DataError, labelled_subset, load_dataset, split_indices
from aae_core.evaluate import SELECTION_METRICS, EvalData, selection_metric_name, selection_score
from aae_core.models.aae import AAEConfig
from aae_core.models.base import ModelConfig
from aae_core.recipes import RECIPES, get_recipe
from aae_core.registry import get_model_class
from aae_core.weights import DTYPES
from aae_core.stacked import StackedAAE, StackedTrainer
from aae_core.stacked_categorical import FAMILIES as CATEGORICAL
from aae_core.stacked_categorical import StackedCategoricalAAE
from aae_core.stacked_labelled import FAMILIES as LABEL_AWARE
from aae_core.stacked_labelled import StackedLabelledAAE

FAMILIES = ("aae", *CATEGORICAL, *LABEL_AWARE)
# the families that can learn from a labelled pool (the semi-supervised AAE always does, the
# dimensionality-reduction AAE with labels or, without, as clusters): label counts are their grid axis,
# and a labelled sweep scores and chooses by classification error
LABELLED = (*(f for f, cls in CATEGORICAL.items() if cls.training_labels == "pool"), *LABEL_AWARE)
# (the label-aware plain AAEs read each image's label: the label-conditioned AAE those of a labelled share,
# the supervised AAE every one)
OWN_PRIOR = ("dimred-aae", "label-aae", "supervised-aae")  # the config's own prior unless --prior-std is given


def shard(device: str = "cpu") -> tuple[int, int]:
    """(rank, world size) under ``torchrun``, else (0, 1). On CUDA each process takes the GPU of its
    local rank and NCCL (where there are GPUs enough), else gloo."""
    import os

    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        nccl = device.startswith("cuda") and torch.cuda.device_count() >= int(os.environ.get("LOCAL_WORLD_SIZE", world))
        if nccl:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if nccl else "gloo")
    return dist.get_rank(), dist.get_world_size()


def setting(model: dict) -> str:
    """The name of a grid entry's setting, what its seeds are grouped by: the recipe (and label count)."""
    labels = model.get("labels")
    if labels is None:
        return model["recipe"]
    return f"{model['recipe']}, {'all' if labels == 'all' else format(labels, ',')} labels"


def build_stack(family: str, config: ModelConfig, grid: list[tuple[str, int | str | None, int]], device: str,
                train_y: torch.Tensor | None = None, cuda_graph: bool = False, chunk: int = 1) -> StackedTrainer:
    """One stack for grid entries (recipe, label count, "all" or None, seed); a semi-supervised
    entry's labelled pool is drawn from ``train_y`` with its seed (the same number per digit)."""
    seeds, recipes = [s for _, _, s in grid], [get_recipe(r) for r, _, _ in grid]
    fast = dict(cuda_graph=cuda_graph, max_chunk=chunk)
    if family == "aae":
        return StackedAAE(config, seeds, recipes, device, **fast)
    pools = None  # each entry's labelled images (indices into the training split), drawn with its seed
    if any(n is not None for _, n, _ in grid):  # a labelled sweep
        if train_y is None:
            raise ValueError(f"the {family} needs the training labels")
        ys = train_y.cpu().numpy()
        pools = [torch.arange(len(ys)) if n == "all" else torch.from_numpy(labelled_subset(ys, n, seed))
                 for _, n, seed in grid]
    if family in LABEL_AWARE:  # each model's labels over the training images, −1 outside its labelled share
        if pools is None:
            raise ValueError(f"the {family} reads labels: give each grid entry a label count or 'all'")
        labels = torch.full((len(grid), len(train_y)), -1, dtype=torch.long, device=train_y.device)
        for row, pool in zip(labels, pools):
            pool = pool.to(train_y.device)
            row[pool] = train_y[pool]
        return StackedLabelledAAE(family, config, seeds, recipes, labels, device, **fast)
    return StackedCategoricalAAE(family, config, seeds, recipes, device, pools=pools, labels=train_y, **fast)


def run_sweep(config: ModelConfig, recipes: list[str], seeds: list[int], train_x: torch.Tensor,
              val_x: torch.Tensor, val_y: np.ndarray, epochs: int, every: int = 1, batch_size: int = 100,
              metric: str = "prior_swd", device: str = "cpu", family: str = "aae",
              labels: list[int | str] | None = None, train_y: torch.Tensor | None = None,
              time_budget_s: float = 0.0, save=None, cuda_graph: bool = False, chunk: int = 1,
              init: dict | None = None, start_epoch: int = 0) -> dict:
    """Train every (recipe, label count, seed) as one stack; returns the grid with each model's
    validation curve. ``labels``: label counts or "all" (the semi-supervised or dimred AAE; ``train_y`` on the
    device). ``time_budget_s``: stop after the epoch that uses it up (scored, like the last epoch).
    ``save(entry, model, run, ship, name)``, if given, gets each model at its best validation epoch (an
    ordinary model of the family), with ``run`` as ``train.train`` returns it (history, best,
    epochs_done, wall_s), whether it is a seed to ship (``shipped_runs``) and its run folder's name
    (``run_name``): the caller writes its weights folder, or only its card. ``cuda_graph``, ``chunk``: the stacks' CUDA path
    (``StackedTrainer``; validation is scored on the training device). ``init``: {(label count or
    None, seed): model} — grid entries that continue an earlier model (``StackedTrainer.warm_start``);
    ``start_epoch``: the epochs those models have done — training runs epochs start_epoch + 1 …
    ``epochs`` (the step decays and the curves count from there).

    Models whose recipes use different optimizer kinds (Adam, SGD) for a phase train as separate
    stacks, epoch by epoch side by side. Under ``torchrun --nproc_per_node=K`` the grid is sharded:
    process r trains models r, r+K, … (every model has its own random streams, so the result is the
    same to float tolerance: which models share a stack decides only whether torch's fused optimizer
    or the stack's own runs), each process saves its own, and the curves are gathered; every process
    returns the whole grid."""
    if labels and family not in LABELLED:
        raise ValueError(f"label counts are a grid axis of {' and '.join(LABELLED)} only")
    if family in ("semi-aae", "label-aae") and not labels:
        raise ValueError(f"the {family} needs at least one label count (--labels)")
    if family == "supervised-aae" and labels != ["all"]:
        raise ValueError("the supervised AAE reads every image's label: --labels all")
    rank, world = shard(device)
    grid = [(r, n, s) for r in recipes for n in (labels or [None]) for s in seeds]
    if world > len(grid):  # every process checks, so none waits for the others forever
        raise ValueError(f"{world} processes for {len(grid)} models: use at most as many processes as models")
    mine = list(range(rank, len(grid), world))
    if device.startswith("cuda") and world > 1:
        device = f"cuda:{torch.cuda.current_device()}"
    local = [grid[i] for i in mine]
    groups: dict[tuple, list[int]] = {}  # one stack per set of optimizer kinds (Adam and SGD do not stack)
    for j, (recipe, _, _) in enumerate(local):
        groups.setdefault(tuple(sorted((k, v.kind) for k, v in get_recipe(recipe).phases.items())), []).append(j)
    stacks = [(js, build_stack(family, config, [local[j] for j in js], device, train_y, cuda_graph, chunk))
              for js in groups.values()]
    unused = set(init or {}) - {(n, s) for _, n, s in grid}
    if unused:
        raise ValueError(f"--init-from: no grid entry (label count, seed) for {sorted(unused, key=str)}: add its seed")
    if not 0 <= start_epoch < epochs:
        raise ValueError(f"the start epoch ({start_epoch}) must be below --epochs ({epochs})")
    for js, stack in stacks:  # continue earlier models where given
        for i, j in enumerate(js):
            _, n_labels, seed = local[j]
            if init and (n_labels, seed) in init:
                stack.warm_start(i, init[(n_labels, seed)].to(device))
    val_x = val_x.to(device)
    curves: list[list[list[float]]] = [[] for _ in local]
    history: list[list[dict]] = [[] for _ in local]
    best: list[dict] = [{} for _ in local]
    best_state: list[dict | None] = [None] * len(local)
    t0 = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        losses = [stack.train_epoch(train_x, epoch, batch_size) for _, stack in stacks]
        out_of_time = bool(time_budget_s) and time.perf_counter() - t0 >= time_budget_s
        scored = (epoch + 1) % every == 0 or epoch + 1 == epochs or out_of_time
        for (js, stack), means in zip(stacks, losses):
            for i, j in enumerate(js):
                entry = {"epoch": epoch + 1, **{k: v[i] for k, v in means.items()},
                         "wall_s": round(time.perf_counter() - t0, 2)}
                if scored:
                    model = stack.export(i).to(device)
                    if all(torch.isfinite(v).all() for v in model.inference_state_dict().values()):
                        scores = selection_score(model, val_x, val_y, labelled=bool(labels), metric=metric)
                    else:  # diverged: NaN weights still "classify" (argmax of NaN), so they must not score
                        scores = {"score": float("nan")}
                    curves[j].append([epoch + 1, float(scores["score"])])
                    entry.update({f"val_{k}": float(v) for k, v in scores.items()})
                    if np.isfinite(scores["score"]) and (not best[j] or scores["score"] < best[j]["score"]):
                        best[j] = {"epoch": epoch + 1, **{k: float(v) for k, v in scores.items()}}
                        best_state[j] = {k: v.detach().clone() for k, v in model.inference_state_dict().items()}
                history[j].append(entry)
        if out_of_time:
            break
    if world > 1:  # every process gets every shard's curves, in grid order
        import torch.distributed as dist

        shards: list = [None] * world
        dist.all_gather_object(shards, dict(zip(mine, curves)))
        gathered = {i: c for part in shards for i, c in part.items()}
        curves = [gathered[i] for i in range(len(grid))]
    models = []
    for (recipe, n_labels, seed), curve in zip(grid, curves):
        finite = [point for point in curve if np.isfinite(point[1])]  # a model that diverged scores NaN
        top = min(finite, key=lambda point: point[1]) if finite else [None, None]
        models.append({"recipe": recipe, **({"labels": n_labels} if n_labels else {}), "seed": seed,
                       "curve": [[e, v if np.isfinite(v) else None] for e, v in curve],
                       "best_epoch": top[0], "best_score": top[1], "diverged": len(finite) < len(curve)})
    score_name = ("error" if labels else "cluster_error") if family in CATEGORICAL else metric
    result = {"family": family, "prefix": run_prefix(family, config.to_dict()), "metric": score_name,
              "epochs": epochs, "every": every, "config": config.to_dict(), "models": models}
    if save is not None:  # each process its own models; weights only for the seeds to ship, cards for all
        ship = set(shipped_runs(result))
        for j, (cell, state) in enumerate(zip(local, best_state)):
            stack, i = next((stack, js.index(j)) for js, stack in stacks if j in js)
            if state is None:  # diverged before its first finite score: nothing worth saving
                continue
            model = stack.export(i)
            model.load_inference_state_dict(state)
            name = run_name(result["prefix"], *cell)
            save(cell, model, {"history": history[j], "best": best[j], "epochs_done": history[j][-1]["epoch"],
                               "wall_s": time.perf_counter() - t0}, name in ship, name)
    return result


def summary(result: dict) -> dict[str, dict]:
    """Per setting (recipe, and label count): the best validation scores over the seeds, their mean
    and standard deviation."""
    out: dict[str, dict] = {}
    for m in result["models"]:
        row = out.setdefault(setting(m), {"scores": [], "diverged": 0})
        if m["best_score"] is None:
            row["diverged"] += 1
        else:
            row["scores"].append(m["best_score"])
    for s in out.values():
        s["mean"] = statistics.fmean(s["scores"]) if s["scores"] else float("inf")
        s["std"] = statistics.stdev(s["scores"]) if len(s["scores"]) > 1 else 0.0
    return out


def chosen(result: dict) -> dict:
    """The winning setting per label count (one winner where there are no label counts): lowest mean
    validation score among the settings none of whose seeds diverged."""
    rows, by_labels = summary(result), {}
    for m in result["models"]:
        by_labels.setdefault(m.get("labels"), {})[setting(m)] = rows[setting(m)]
    return {n: min(group, key=lambda r: (group[r]["diverged"] > 0, group[r]["mean"])) for n, group in by_labels.items()}


def table(result: dict) -> str:
    rows, winners = summary(result), set(chosen(result).values())
    lines = [f"Validation {result['metric']} (lower is better), best epoch of each run, over "
             f"{len(result['models']) // len(rows)} seed(s); {result['epochs']} epochs, scored every "
             f"{result['every']}.", "", "| setting | mean ± std | per seed |", "|---|---|---|"]
    for r, s in sorted(rows.items(), key=lambda kv: kv[1]["mean"]):
        mark = " (chosen)" if r in winners else ""
        lost = f"; {s['diverged']} diverged" if s["diverged"] else ""
        lines.append(f"| `{r}`{mark} | {s['mean']:.4g} ± {s['std']:.2g}{lost} | {', '.join(f'{v:.4g}' for v in s['scores'])} |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    """One panel per setting, one line per seed (``aae_core.curves``' drawing)."""
    from PIL import Image

    from aae_core.curves import H, W, panel

    settings = list(dict.fromkeys(setting(m) for m in result["models"]))
    panels = [panel(r, {"selection_metric": result["metric"], "recipes_compared": {
        f"seed {m['seed']}": {"curve": m["curve"]} for m in result["models"] if setting(m) == r}}) for r in settings]
    sheet = Image.new("RGB", (W * min(2, len(panels)), H * ((len(panels) + 1) // 2)), "white")
    for i, im in enumerate(panels):
        sheet.paste(im, ((i % 2) * W, (i // 2) * H))
    sheet.save(path)


def family_config(family: str, latent_dim: int | None, hidden: list[int], prior: str,
                  n_classes: int | None = None, prior_std: float | None = None) -> ModelConfig:
    """The sweep's architecture: the paper's MLP widths for encoder, decoder and discriminators."""
    prior_spec = {"name": prior, **({"std": prior_std} if prior_std is not None else {})}
    widths = dict(hidden=tuple(hidden), disc_hidden=tuple(hidden), prior=prior_spec)
    if family == "aae":
        if n_classes is not None:
            raise ValueError("--n-classes is for the categorical families")
        return AAEConfig(latent_dim=latent_dim or 2, **widths)
    cls = {**CATEGORICAL, **LABEL_AWARE}[family].config_class
    if family in OWN_PRIOR and prior_std is None and prior == cls().prior["name"]:  # e.g. the dimred AAE's
        widths["prior"] = cls().prior  # narrow style prior, against which its heads' margin is set
    extra = {"n_classes": n_classes} if n_classes is not None else {}
    return cls(latent_dim=latent_dim or (10 if family in ("semi-aae", "cluster-aae") else 2), **widths, **extra)


def _label_counts(text: str) -> list:
    try:
        return [v.strip() if v.strip() == "all" else int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated label counts or 'all', got {text!r}") from None


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aae_core.sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="folder with the four IDX files")
    p.add_argument("--dataset", choices=DATASETS, default="mnist")
    p.add_argument("--family", choices=FAMILIES, default="aae")
    p.add_argument("--labels", type=_label_counts, default=None,
                   help="semi-supervised AAE: comma-separated label counts (a grid axis), e.g. 100,1000,all")
    p.add_argument("--n-classes", type=int, default=None, help="categorical families: K (default: 10, clusters 16)")
    p.add_argument("--prior", default="gaussian", help="prior name (its default parameters) of the (style) code")
    p.add_argument("--prior-std", type=float, default=None,
                   help="the Gaussian prior's std (default: the prior's own, 5; the clustering ports use 1)")
    p.add_argument("--latent-dim", type=int, default=None, help="default: 2 (aae), 10 (the style of the others)")
    p.add_argument("--hidden", type=_ints, default=[1000, 1000])
    p.add_argument("--recipes", default="adam-balanced,adam-musyoku", help=f"comma-separated, of: {', '.join(RECIPES)}")
    p.add_argument("--seeds", type=_ints, default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--every", type=int, default=1, help="score the validation split every N epochs")
    p.add_argument("--metric", choices=SELECTION_METRICS, default=None,
                   help="the validation metric (default: the family's own — prior SWD for the AAE, the conditional "
                        "prior SWD for the label-conditioned AAE, reconstruction for the supervised AAE; the "
                        "categorical families score their error)")
    p.add_argument("--val-size", type=int, default=10_000)
    p.add_argument("--limit", type=int, default=None, help="train on the first N training images only")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--cuda-graph", choices=("auto", "on", "off"), default="auto",
                   help="capture each chunk of steps in one CUDA graph (auto: on a CUDA device)")
    p.add_argument("--chunk", type=int, default=None,
                   help="steps per chunk: random numbers drawn ahead, one graph replay (default 50 with graphs, else 1)")
    p.add_argument("--exact-fp32", action="store_true", help="on a GPU: no TF32 in the matrix products (default: TF32)")
    p.add_argument("--time-budget", type=float, default=0.0, metavar="SECONDS",
                   help="stop after the epoch that uses up this much time (scored, then saved; 0: none)")
    p.add_argument("--runs", default=None, metavar="DIR",
                   help="also write every model, at its best validation epoch, as a complete weights folder "
                        "DIR/FAMILY[-LABELS]--RECIPE-seedS (card, test codes, test metrics), and test.md: the "
                        "test numbers, mean ± std over the seeds, and the seed of median validation score")
    p.add_argument("--weights", choices=DTYPES, default="float16", help="how --runs folders store the weights")
    p.add_argument("--init-from", action="append", default=[], metavar="FOLDER",
                   help="continue an earlier model (a weights folder, e.g. pretrained/semi-aae-100): the grid entry "
                        "with its label count and seed starts from its encoder and decoder (its discriminators, not "
                        "shipped, start afresh); repeatable. Give --start-epoch too")
    p.add_argument("--start-epoch", type=int, default=0,
                   help="the epochs the --init-from models have done: training runs from the next one to --epochs")
    p.add_argument("--runs-weights", choices=("all", "shipped"), default="all",
                   help="--runs: weights folders for every model, or only for the seeds to ship (the others: card.json)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.metric is None:
        args.metric = get_model_class(args.family).selection_metric
    if args.threads:
        torch.set_num_threads(args.threads)
    graph = args.cuda_graph == "on" or (args.cuda_graph == "auto" and args.device.startswith("cuda"))
    chunk = args.chunk or (50 if graph else 1)
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = not args.exact_fp32
    try:
        recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
        for r in recipes:
            get_recipe(r)
        if args.epochs < 1 or args.every < 1:
            raise ValueError("--epochs and --every must be >= 1")
        config = family_config(args.family, args.latent_dim, args.hidden, args.prior, args.n_classes, args.prior_std)
        shard(args.device)  # under torchrun: join the group and take this process's GPU before any data moves
        train = load_dataset(args.data, "train", args.dataset)
        tr, va = split_indices(len(train.labels), args.val_size, args.limit)
        if not args.val_size:
            raise ValueError("a sweep chooses on a validation split: --val-size must be > 0")
        flat = train.flat_float()
        train_x, val_y = torch.from_numpy(flat[tr]).to(args.device), train.labels[va].astype(np.int64)
        command = "python -m aae_core.sweep " + shlex.join(argv if argv is not None else sys.argv[1:])
        save = None
        if args.runs:
            test = load_dataset(args.data, "test", args.dataset)
            data = EvalData(train_x=train_x, train_y=train.labels[tr].astype(np.int64),
                            test_x=torch.from_numpy(test.flat_float()).to(args.device), test_y=test.labels.astype(np.int64),
                            val_x=torch.from_numpy(flat[va]).to(args.device), val_y=val_y,
                            labelled=bool(args.labels))
            save = saver(Path(args.runs), args, data, tr, va, command)
        init = initial_models(args.init_from, args.family, tr.stop - tr.start)
        result = run_sweep(config, recipes, args.seeds, train_x, torch.from_numpy(flat[va]), val_y, args.epochs,
                           args.every, args.batch_size, args.metric, args.device, args.family, args.labels,
                           torch.from_numpy(train.labels[tr].astype(np.int64)).to(args.device), args.time_budget, save,
                           graph, chunk, init, args.start_epoch)
        result["init_from"], result["start_epoch"] = args.init_from, args.start_epoch
    except (ValueError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rank, result["processes"] = shard(args.device)
    if result["processes"] > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    if rank != 0:  # one writer
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result["command"] = command
    (out / "sweep.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "table.md").write_text(table(result))
    plot(result, out / "curves.png")
    print(table(result))
    if args.runs:
        text = seeds_table(result, Path(args.runs))
        (out / "test.md").write_text(text)
        print(text)
    return 0


def initial_models(folders: list[str], family: str, n_train: int) -> dict:
    """{(label count, "all" or None; seed): model} of ``--init-from`` weights folders, read from their
    cards (a model that learnt from every training label counts as "all")."""
    from aae_core.card import Card
    from aae_core.weights import load_model

    out = {}
    for folder in folders:
        model = load_model(folder)
        card = Card.of(model.card)
        if card.model != family:
            raise ValueError(f"--init-from {folder}: a {card.model}, not a {family}")
        n_labels = ("all" if card.labels >= n_train else card.labels) if family in LABELLED and card.labels else None
        key = (n_labels, card.seed if card.seed is not None else 0)
        if key in out:
            raise ValueError(f"--init-from: two folders for labels {n_labels}, seed {key[1]}")
        out[key] = model
    return out


TEST_METRIC = {"error": "error", "cluster_error": "cluster_error_paper"}  # a sweep's validation score → its test
# number (the clusters named by the paper's rule); else the validation metric's test twin
TEST_TWIN = {"parzen_nll": "parzen_ll"}  # the validation Parzen NLL's test number is the Parzen LL (higher is better)


def run_prefix(family: str, config: dict) -> str:
    """What a sweep's run folders are named after: the family and what tells its settings apart, so
    that two sweeps of one device run never write the same folder (a 16- and a 30-cluster model,
    a 2-D and an 8-D AAE): ``aae-gaussian-8d``, ``cluster-aae-16``, ``semi-aae``."""
    if family == "aae":
        return f"aae-{config['prior']['name']}-{config['latent_dim']}d"
    if family == "cluster-aae":
        return f"cluster-aae-{config['n_classes']}"
    if family == "label-aae":
        return f"label-aae-{config['prior']['name']}"
    if family == "supervised-aae":
        return f"supervised-aae-{config['latent_dim']}d"
    return family


def result_prefix(result: dict) -> str:
    """A sweep result's run-folder prefix (results written before prefixes existed: the family)."""
    return result.get("prefix", result["family"])


def run_name(prefix: str, recipe: str, labels: int | str | None, seed: int) -> str:
    return f"{prefix}{'' if labels is None else f'-{labels}'}--{recipe}-seed{seed}"


def saver(runs: Path, args: argparse.Namespace, data: EvalData, tr: slice, va: slice, command: str):
    """``run_sweep``'s ``save``: each model as a complete weights folder under ``runs`` (with
    ``--runs-weights shipped``, only the seeds to ship; the others' card.json alone), its card saying it
    was trained in a stack (the wall time is the whole stack's)."""
    from aae_core.recipes import recipe_for
    from aae_core.run_folder import run_card, save_run

    def save(entry: tuple, model, run: dict, ship: bool, name: str) -> None:  # name: its run folder's
        recipe_name, n_labels, seed = entry
        labelled = bool(args.labels)
        count = 0 if n_labels is None else (tr.stop - tr.start if n_labels == "all" else n_labels)
        card = run_card(
            name, model, recipe_for(model, get_recipe(recipe_name)), recipe_name, run,
            description=f"{args.family}, {setting({'recipe': recipe_name, 'labels': n_labels})}, seed {seed}: "
                        + (f"one of {len(args.seeds)} seeds" if len(args.seeds) > 1 else "its only seed")
                        + " trained as stacked models by a validation sweep (its wall time is the whole stack's)",
            dataset=args.dataset, n=tr.stop - tr.start, val=va, n_labels=count, label_seed=seed if labelled else 0,
            labelled=labelled, epochs=args.epochs,
            selection_metric=selection_metric_name(model, labelled, args.metric),
            batch_size=args.batch_size, seed=seed, device=torch.device(args.device), weights=args.weights,
            command=command)
        save_run(model.to(args.device), runs / name, card, data, args.weights,
                 card_only=not ship and args.runs_weights == "shipped")

    return save


def ship_seeds(result: dict) -> dict[str, int]:
    """Per setting, the seed to ship: the one whose best validation score is the median of the
    setting's seeds (the lower median for an even count; diverged seeds left out)."""
    out = {}
    for name in dict.fromkeys(setting(m) for m in result["models"]):
        scored = sorted((m for m in result["models"] if setting(m) == name and m["best_score"] is not None),
                        key=lambda m: m["best_score"])
        if scored:
            out[name] = scored[(len(scored) - 1) // 2]["seed"]
    return out


def shipped_runs(result: dict) -> list[str]:
    """The run folders worth bringing home: for each label count, the chosen setting's median seed."""
    seeds, winners = ship_seeds(result), set(chosen(result).values())
    return [run_name(result_prefix(result), m["recipe"], m.get("labels"), m["seed"]) for m in result["models"]
            if setting(m) in winners and seeds.get(setting(m)) == m["seed"]]


def seeds_table(result: dict, runs: Path) -> str:
    """Per setting: the test number of every seed (read from the saved cards), mean ± std, and the
    seed to ship — the one whose validation score is the median of its setting's."""
    metric = TEST_METRIC.get(result["metric"], TEST_TWIN.get(result["metric"], result["metric"]))
    lines = [f"Test {metric} of each seed's model at its best validation epoch (the final number; the "
             "choice was made on validation).", "", "| setting | test mean ± std | per seed | ship (median validation) |",
             "|---|---|---|---|"]
    ships = ship_seeds(result)
    for name in dict.fromkeys(setting(m) for m in result["models"]):
        ms = [m for m in result["models"] if setting(m) == name]
        tests = {}
        for m in ms:
            card = runs / run_name(result_prefix(result), m["recipe"], m.get("labels"), m["seed"]) / "card.json"
            if card.exists():
                tests[m["seed"]] = json.loads(card.read_text())["metrics"][metric]
        ship = ships.get(name)
        values = list(tests.values())
        spread = f"{statistics.fmean(values):.4g} ± {statistics.stdev(values) if len(values) > 1 else 0:.2g}" \
            if values else "(no saved runs)"
        lines.append(f"| `{name}` | {spread} | {', '.join(f'seed {k}: {v:.4g}' for k, v in tests.items())} | "
                     f"{'—' if ship is None else f'seed {ship}'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
