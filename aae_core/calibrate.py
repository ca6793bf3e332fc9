"""What the Parzen-window score gives things that are not models:
``python -m aae_core.calibrate --data MNIST_FOLDER [--write docs/parzen-calibration.json]``.

Two calibration rows for the paper's Parzen table, through exactly the protocol the models get
(``aae_core.evaluate.parzen``: 10,000 "samples", σ chosen on 1,000 validation images with the same
grid, mean log-likelihood of the 10,000 test images ± its standard error):

- real: 10,000 real training images used as the samples;
- local means: the same 10,000 images, each averaged with its 10 nearest training neighbours
  (pixel space, among the 50,000 training images) — smooth prototypes, no model at all.

A model that scores near "local means" is not thereby better than real data: the score rewards blur.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from aae_core import metrics
from aae_core.data import DataError, load_dataset, split_indices


def nearest_neighbours(x: torch.Tensor, pool: torch.Tensor, k: int, batch: int = 500) -> torch.Tensor:
    """Indices of the k nearest rows of ``pool`` (P×D) to each row of x (N×D), nearest first: N×k."""
    pool_sq = pool.pow(2).sum(1)  # P
    out = []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        d2 = xb.pow(2).sum(1, keepdim=True) - 2 * xb @ pool.T + pool_sq  # b×P
        out.append(d2.topk(k, dim=1, largest=False).indices)
    return torch.cat(out)


def local_means(x: torch.Tensor, pool: torch.Tensor, k: int = 10) -> torch.Tensor:
    """Each row of x averaged with its k nearest neighbours in ``pool`` (x's rows are in the pool,
    so the nearest is the image itself): N×D."""
    idx = nearest_neighbours(x, pool, k + 1)  # N×(k+1), the image itself first
    return pool[idx].mean(1)


def calibrate(train_x: torch.Tensor, val_x: torch.Tensor, test_x: torch.Tensor, n: int = 10_000, k: int = 10) -> dict:
    real = train_x[:n]
    return {"real": metrics.parzen_score(real, val_x, test_x),
            "local_means": metrics.parzen_score(local_means(real, train_x, k), val_x, test_x),
            "n_samples": n, "k": k}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aae_core.calibrate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="folder with the four MNIST IDX files")
    p.add_argument("--write", default=None, metavar="FILE", help="write the JSON to FILE")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        train, test = load_dataset(args.data, "train"), load_dataset(args.data, "test")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tr, va = split_indices(len(train.labels), 10_000)  # the paper protocol's split, as the models use it
    flat = torch.from_numpy(train.flat_float())
    result = calibrate(flat[tr], flat[va], torch.from_numpy(test.flat_float()))
    result["command"] = "python -m aae_core.calibrate --data MNIST_FOLDER --write docs/parzen-calibration.json"
    text = json.dumps(result, indent=2)
    if args.write:
        Path(args.write).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
