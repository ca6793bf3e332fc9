"""Training CLI: ``python -m aae_core.train --help``.

Trains one model on MNIST (or Fashion-MNIST, or any IDX files), writes a resumable checkpoint
after every epoch (atomically: a run killed mid-epoch resumes from the last full epoch), stops
with a clear message on a NaN/inf loss, and at the end writes a complete weights folder with the
test-set metrics and test codes (see ``aae_core.weights``).
"""
from __future__ import annotations

import argparse
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

from aae_core.evaluate import card_markdown, evaluate
from aae_core.data import DATASETS, DataError, load_dataset
from aae_core.models import Autoencoder  # noqa: F401  (registers the models)
from aae_core.priors import list_priors
from aae_core.registry import get_model_class, list_models
from aae_core.weights import save_model

CHECKPOINT = "checkpoint.pt"


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite."""


@dataclass
class TrainSettings:
    epochs: int = 10
    batch_size: int = 100
    seed: int = 0
    log_every: int = 50  # host synchronisations (for the progress bar and the NaN check) per N steps
    history: list = field(default_factory=list)


def epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % (2**63 - 1)


def _state(model, opts, epoch: int, settings: TrainSettings, fingerprint: dict, wall: float) -> dict:
    return {
        "model": model.state_dict(),
        "opts": {k: o.state_dict() for k, o in opts.items()},
        "epoch": torch.tensor(epoch),
        "meta": json.dumps({"model": model.model_name, "config": model.config.to_dict(), "seed": settings.seed,
                            "batch_size": settings.batch_size, "data": fingerprint,
                            "history": settings.history, "wall_s": wall}),
    }


def save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a kill leaves either the old or the new checkpoint


def load_checkpoint(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state["meta"] = json.loads(state["meta"])
        return state
    except Exception as exc:  # any corruption: explain, never unpickle arbitrary objects
        raise RuntimeError(f"{path}: unreadable checkpoint ({exc}); delete it or pass --restart") from None


def train(model, x: torch.Tensor, settings: TrainSettings, out: Path | None = None,
          fingerprint: dict | None = None, resume: bool = True, progress: bool = True, log: bool = True) -> dict:
    """Train ``model`` on x (N×784, already on the target device). Returns the run's meta.

    ``progress`` shows a live bar; ``log`` prints one line per epoch."""
    fingerprint = fingerprint or {"n": len(x)}
    opts = model.configure_optimizers()
    start, wall0 = 0, 0.0
    ckpt = out / CHECKPOINT if out is not None else None
    if ckpt is not None and ckpt.exists() and resume:
        state = load_checkpoint(ckpt)
        meta = state["meta"]
        mine = {"model": model.model_name, "config": model.config.to_dict(), "seed": settings.seed,
                "batch_size": settings.batch_size, "data": fingerprint}
        theirs = {k: meta.get(k) for k in mine}
        if theirs != mine:
            diff = sorted(k for k in mine if mine[k] != theirs[k])
            raise RuntimeError(f"{ckpt}: checkpoint is from a different run (differs in {diff}); "
                               "use another --out or pass --restart")
        model.load_state_dict(state["model"])
        for k, o in opts.items():
            o.load_state_dict(state["opts"][k])
        start, wall0 = int(state["epoch"]), meta["wall_s"]
        settings.history = meta["history"]
        if log:
            print(f"resuming from {ckpt} after epoch {start}", file=sys.stderr)

    n, bs = len(x), settings.batch_size
    steps = n // bs  # drop the last partial batch: every step sees a full batch
    if steps < 1:
        raise ValueError(f"batch size {bs} is larger than the {n} training images")
    t0 = time.perf_counter()
    for epoch in range(start, settings.epochs):
        torch.manual_seed(epoch_seed(settings.seed, epoch))
        perm = torch.randperm(n, device=x.device)
        model.train()
        sums: dict[str, torch.Tensor] = {}
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{settings.epochs}", disable=not progress,
                   leave=False, file=sys.stderr)
        for step in bar:
            batch = x[perm[step * bs:(step + 1) * bs]]  # bs×784
            step_losses = model.train_step(batch, opts)
            for k, v in step_losses.items():
                sums[k] = sums.get(k, 0) + v
            if (step + 1) % settings.log_every == 0 or step + 1 == steps:
                means = {k: (v / (step + 1)).item() for k, v in sums.items()}  # the only host sync
                if not all(math.isfinite(v) for v in means.values()):
                    raise DivergenceError(
                        f"training diverged in epoch {epoch + 1}, step {step + 1}: losses {means}. "
                        "Nothing was written for this epoch; the last checkpoint is intact. "
                        "Try a lower learning rate or another seed.")
                bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()})
        wall = wall0 + time.perf_counter() - t0
        settings.history.append({"epoch": epoch + 1, **means, "wall_s": round(wall, 2)})
        if log:
            print(f"epoch {epoch + 1}/{settings.epochs} " + " ".join(f"{k}={v:.4f}" for k, v in means.items())
                  + f" ({wall:.0f} s)", file=sys.stderr)
        if ckpt is not None:
            save_checkpoint(ckpt, _state(model, opts, epoch + 1, settings, fingerprint, wall))
    model.eval()
    return {"history": settings.history, "wall_s": wall0 + time.perf_counter() - t0, "start_epoch": start}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m aae_core.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=list_models(), default="aae", help="model family")
    p.add_argument("--prior", choices=list_priors(), default="gaussian", help="prior p(z)")
    p.add_argument("--prior-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="prior parameter, e.g. std=5 (repeatable)")
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--hidden", default="1000,1000", help="hidden widths of encoder/decoder (paper: 1000,1000)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any other config field, e.g. encoder_type=gaussian, d_lr=1e-4 (repeatable)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="folder with the four IDX files (default: download to a cache)")
    p.add_argument("--dataset", choices=DATASETS, default="mnist",
                   help="which files to expect; 'idx' accepts any IDX files with the standard names")
    p.add_argument("--limit", type=int, default=None, help="train on the first N training images only")
    p.add_argument("--out", required=True, help="output folder (weights folder; checkpoint.pt while training)")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint in --out")
    p.add_argument("--half", action="store_true", help="store the final weights in float16")
    p.add_argument("--device", default="auto", help="cpu, cuda, or auto")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--description", default="", help="one line for the model card")
    p.add_argument("--no-progress", action="store_true", help="no live progress bar (one line per epoch only)")
    return p.parse_args(argv)


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
    prior = {"name": args.prior, **_pairs(args.prior_arg, "--prior-arg")}
    fields = {"latent_dim": args.latent_dim, "hidden": hidden, "prior": prior, **_pairs(args.set, "--set")}
    try:
        return cls, cls.config_class.from_dict(fields)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        for name in ("epochs", "batch_size"):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1")
        cls, config = build_config(args)
        device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                              else ("cpu" if args.device == "auto" else args.device))
        if args.threads:
            torch.set_num_threads(args.threads)
        train_split = load_dataset(args.data, "train", args.dataset)
        test_split = load_dataset(args.data, "test", args.dataset)
    except (ValueError, KeyError, DataError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n = len(train_split.labels) if args.limit is None else min(args.limit, len(train_split.labels))
    x = torch.from_numpy(train_split.flat_float()[:n]).to(device)  # N×784, resident on the device
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    model = cls(config).to(device)
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
    fingerprint = {"dataset": args.dataset, "n": n}
    try:
        run = train(model, x, settings, out, fingerprint, resume=not args.restart, progress=not args.no_progress)
    except (DivergenceError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    if args.half:  # evaluate exactly the weights that ship
        model.load_inference_state_dict({k: v.half() for k, v in model.inference_state_dict().items()})
    test_x = torch.from_numpy(test_split.flat_float()).to(device)
    scores, codes = evaluate(model, x, train_split.labels[:n], test_x, test_split.labels, seed=0)
    hardware = (torch.cuda.get_device_name(device) if device.type == "cuda"
                else f"CPU ({platform.machine()}, {torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''})")
    card = {
        "name": out.name, "model": args.model, "description": args.description,
        "latent_dim": config.latent_dim, "prior": config.prior, "config": config.to_dict(),
        "data": f"{args.dataset} training set, first {n} images" if n < 60_000 else f"{args.dataset} training set (60,000 images)",
        "train_images": n, "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
        "wall_s": run["wall_s"], "hardware": hardware, "torch": torch.__version__,
        "weights_dtype": "float16" if args.half else "float32",
        "command": "python -m aae_core.train " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "metrics": scores, "history": run["history"],
    }
    save_model(model.cpu(), out, card=card, half=args.half, card_markdown=card_markdown(out.name, card),
               codes={"codes": codes, "labels": torch.from_numpy(test_split.labels.astype(np.uint8))})
    (out / CHECKPOINT).unlink(missing_ok=True)  # the folder now holds a finished model
    print(json.dumps({"out": str(out), **scores}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
