"""Validation sweeps with stacked models: ``python -m aae_core.sweep --help``.

Trains a grid of recipes × seeds of the plain AAE as one set of stacked models
(``aae_core.stacked``), scores every model on the validation split (the last ``--val-size`` training
images) every ``--every`` epochs by its prior distance (or reconstruction NLL), and writes, into
``--out``: ``sweep.json`` (the grid, each model's validation curve and best epoch), ``table.md``
(per recipe: the best validation score, mean ± std over the seeds, and which recipe wins) and
``curves.png`` (validation score by epoch, one panel per recipe, one line per seed). The test set
is never read: a sweep chooses, the shipped model's card reports.

    python -m aae_core.sweep --data ../shared/data/mnist --prior mixture10 --hidden 500,500 \\
        --recipes adam-balanced,adam-musyoku --seeds 0,1,2 --epochs 20 --every 2 --out runs/sweep-mixture
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

from aae_core.data import DATASETS, DataError, load_dataset, split_indices
from aae_core.evaluate import selection_score
from aae_core.models.aae import AAEConfig
from aae_core.recipes import RECIPES, get_recipe, recipe_for
from aae_core.stacked import StackedAAE


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


def run_sweep(config: AAEConfig, recipes: list[str], seeds: list[int], train_x: torch.Tensor,
              val_x: torch.Tensor, val_y: np.ndarray, epochs: int, every: int = 1, batch_size: int = 100,
              metric: str = "prior_swd", device: str = "cpu") -> dict:
    """Train every (recipe, seed) as one stack; returns the grid with each model's validation curve.

    Under ``torchrun --nproc_per_node=K`` the grid is sharded: process r trains models r, r+K, … as
    its own stack (every model has its own random streams, so the result is the same to float
    tolerance: which models share a stack decides only whether torch's fused optimizer or the stack's
    own runs), and the curves are gathered; every process returns the whole grid."""
    from aae_core.models.aae import AAE

    rank, world = shard(device)
    grid = [(r, s) for r in recipes for s in seeds]
    if world > len(grid):  # every process checks, so none waits for the others forever
        raise ValueError(f"{world} processes for {len(grid)} models: use at most as many processes as models")
    mine = list(range(rank, len(grid), world))
    if device.startswith("cuda") and world > 1:
        device = f"cuda:{torch.cuda.current_device()}"
    local = [grid[i] for i in mine]
    stack = StackedAAE(config, [s for _, s in local], [recipe_for(AAE, get_recipe(r)) for r, _ in local], device)
    curves: list[list[list[float]]] = [[] for _ in local]
    for epoch in range(epochs):
        stack.train_epoch(train_x, epoch, batch_size)
        if (epoch + 1) % every == 0 or epoch + 1 == epochs:
            for i in range(len(local)):
                score = selection_score(stack.export(i), val_x, val_y, labelled=False, metric=metric)["score"]
                curves[i].append([epoch + 1, float(score)])
    if world > 1:  # every process gets every shard's curves, in grid order
        import torch.distributed as dist

        shards: list = [None] * world
        dist.all_gather_object(shards, dict(zip(mine, curves)))
        gathered = {i: c for part in shards for i, c in part.items()}
        curves = [gathered[i] for i in range(len(grid))]
    models = []
    for (recipe, seed), curve in zip(grid, curves):
        finite = [point for point in curve if np.isfinite(point[1])]  # a model that diverged scores NaN
        best = min(finite, key=lambda point: point[1]) if finite else [None, None]
        models.append({"recipe": recipe, "seed": seed, "curve": [[e, v if np.isfinite(v) else None] for e, v in curve],
                       "best_epoch": best[0], "best_score": best[1], "diverged": len(finite) < len(curve)})
    return {"metric": metric, "epochs": epochs, "every": every, "config": config.to_dict(), "models": models}


def summary(result: dict) -> dict[str, dict]:
    """Per recipe: the best validation scores over the seeds, their mean and standard deviation."""
    out: dict[str, dict] = {}
    for m in result["models"]:
        row = out.setdefault(m["recipe"], {"scores": [], "diverged": 0})
        if m["best_score"] is None:
            row["diverged"] += 1
        else:
            row["scores"].append(m["best_score"])
    for s in out.values():
        s["mean"] = statistics.fmean(s["scores"]) if s["scores"] else float("inf")
        s["std"] = statistics.stdev(s["scores"]) if len(s["scores"]) > 1 else 0.0
    return out


def table(result: dict) -> str:
    rows = summary(result)
    winner = min(rows, key=lambda r: (rows[r]["diverged"] > 0, rows[r]["mean"]))
    lines = [f"Validation {result['metric']} (lower is better), best epoch of each run, over "
             f"{len(result['models']) // len(rows)} seed(s); {result['epochs']} epochs, scored every "
             f"{result['every']}.", "", "| recipe | mean ± std | per seed |", "|---|---|---|"]
    for r, s in sorted(rows.items(), key=lambda kv: kv[1]["mean"]):
        mark = " (chosen)" if r == winner else ""
        lost = f"; {s['diverged']} diverged" if s["diverged"] else ""
        lines.append(f"| `{r}`{mark} | {s['mean']:.4g} ± {s['std']:.2g}{lost} | {', '.join(f'{v:.4g}' for v in s['scores'])} |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    """One panel per recipe, one line per seed (``aae_core.curves``' drawing)."""
    from PIL import Image

    from aae_core.curves import H, W, panel

    recipes = list(dict.fromkeys(m["recipe"] for m in result["models"]))
    panels = [panel(r, {"selection_metric": result["metric"], "recipes_compared": {
        f"seed {m['seed']}": {"curve": m["curve"]} for m in result["models"] if m["recipe"] == r}}) for r in recipes]
    sheet = Image.new("RGB", (W * min(2, len(panels)), H * ((len(panels) + 1) // 2)), "white")
    for i, im in enumerate(panels):
        sheet.paste(im, ((i % 2) * W, (i // 2) * H))
    sheet.save(path)


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
    p.add_argument("--prior", default="gaussian", help="prior name (its default parameters)")
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--hidden", type=_ints, default=[1000, 1000])
    p.add_argument("--recipes", default="adam-balanced,adam-musyoku", help=f"comma-separated, of: {', '.join(RECIPES)}")
    p.add_argument("--seeds", type=_ints, default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--every", type=int, default=1, help="score the validation split every N epochs")
    p.add_argument("--metric", choices=("prior_swd", "recon_bce"), default="prior_swd")
    p.add_argument("--val-size", type=int, default=10_000)
    p.add_argument("--limit", type=int, default=None, help="train on the first N training images only")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
        for r in recipes:
            get_recipe(r)
        if args.epochs < 1 or args.every < 1:
            raise ValueError("--epochs and --every must be >= 1")
        config = AAEConfig(latent_dim=args.latent_dim, hidden=tuple(args.hidden), disc_hidden=tuple(args.hidden),
                           prior={"name": args.prior})
        shard(args.device)  # under torchrun: join the group and take this process's GPU before any data moves
        train = load_dataset(args.data, "train", args.dataset)
        tr, va = split_indices(len(train.labels), args.val_size, args.limit)
        if not args.val_size:
            raise ValueError("a sweep chooses on a validation split: --val-size must be > 0")
        flat = train.flat_float()
        result = run_sweep(config, recipes, args.seeds, torch.from_numpy(flat[tr]).to(args.device),
                           torch.from_numpy(flat[va]), train.labels[va].astype(np.int64), args.epochs, args.every,
                           args.batch_size, args.metric, args.device)
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
    result["command"] = "python -m aae_core.sweep " + " ".join(argv if argv is not None else sys.argv[1:])
    (out / "sweep.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "table.md").write_text(table(result))
    plot(result, out / "curves.png")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
