"""Evaluate a weights folder: ``python -m aae_core.evaluate FOLDER --data MNIST_FOLDER``.

Test-set metrics by default (``--write`` stores them, with the test codes, into the folder's card,
README and manifest); ``--val START:END`` scores training images START..END-1 instead (a validation
split for choosing hyper-parameters: the test set is never used for a choice).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from aae_core import metrics
from aae_core.data import DATASETS, DataError, load_dataset
from aae_core.weights import WeightsError, load_model, read_json, save_model


def evaluate(model, train_x: torch.Tensor, train_y: np.ndarray, test_x: torch.Tensor, test_y: np.ndarray,
             seed: int = 0) -> tuple[dict, torch.Tensor]:
    """Test-set metrics and the test codes (N×d, CPU float32)."""
    model.eval()
    test_codes = metrics.encode_all(model, test_x).float().cpu()
    train_codes = metrics.encode_all(model, train_x).float().cpu()
    out = metrics.reconstruction_error(model, test_x)
    out["knn5_accuracy"] = metrics.knn_accuracy(train_codes.numpy(), train_y, test_codes.numpy(), test_y, k=5)
    out["prior_swd"] = metrics.prior_match(test_codes, model.prior, seed=seed)
    return out, test_codes


def validate(model, x: torch.Tensor, seed: int = 0) -> dict:
    """Metrics that need no labels, for a validation split: reconstruction and prior match."""
    out = metrics.reconstruction_error(model, x)
    out["prior_swd"] = metrics.prior_match(metrics.encode_all(model, x).float().cpu(), model.prior, seed=seed)
    return out


def card_markdown(name: str, card: dict) -> str:
    m = card.get("metrics", {})
    rows = "\n".join(f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in m.items())
    return f"""# {name}

{card.get('description', '')}

- model: `{card['model']}`, latent dimension {card['latent_dim']}, prior `{json.dumps(card['prior'])}`
- data: {card['data']}
- training: {card['epochs']} epochs, batch {card['batch_size']}, seed {card['seed']}, \
wall time {card['wall_s']:.0f} s on {card['hardware']}
- weights: {card['weights_dtype']} (encoder + decoder only; the discriminator is training-only)
- command: `{card['command']}`

## Test-set metrics (MNIST test set, 10,000 images; used for nothing but this table)

| metric | value |
|---|---|
{rows}

- recon_bce: mean Bernoulli negative log-likelihood per image, nats over 784 pixels (lower is better)
- recon_mse: mean squared error per pixel
- knn5_accuracy: 5-NN classifier fit on the training-set codes, scored on the test codes
- prior_swd: sliced 2-Wasserstein distance (256 random directions) between the 10k test codes and
  10k prior samples (seed 0): how well the codes fill the prior (lower is better)

Metrics are computed on the weights exactly as shipped ({card['weights_dtype']}); reproduce them with
`python -m aae_core.evaluate pretrained/{name} --data MNIST_FOLDER`.

Limitations: trained for a fixed number of epochs; no model selection on the test set
(docs/training-notes.md says how the hyper-parameters were chosen).
"""


def _slice(text: str) -> slice:
    try:
        a, b = (int(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:END, got {text!r}") from None
    if not 0 <= a < b:
        raise argparse.ArgumentTypeError(f"need 0 <= START < END, got {text!r}")
    return slice(a, b)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aae_core.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="a weights folder (e.g. pretrained/aae-gaussian-2d)")
    p.add_argument("--data", default=None, help="folder with the four MNIST IDX files")
    p.add_argument("--dataset", choices=DATASETS, default="mnist")
    p.add_argument("--val", type=_slice, default=None, metavar="START:END",
                   help="score training images START..END-1 (validation) instead of the test set")
    p.add_argument("--write", action="store_true", help="store test metrics and codes into the folder")
    args = p.parse_args(argv)
    try:
        model = load_model(args.folder)
        train = load_dataset(args.data, "train", args.dataset)
        if args.val is not None:
            x = torch.from_numpy(train.flat_float()[args.val])
            print(json.dumps({"split": f"train[{args.val.start}:{args.val.stop}]", **validate(model, x)}, indent=2))
            return 0
        test = load_dataset(args.data, "test", args.dataset)
    except (WeightsError, DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    card = read_json(Path(args.folder) / "card.json")
    n = int(card.get("train_images", len(train.labels)))  # the k-NN is fit on the images the model saw
    scores, codes = evaluate(model, torch.from_numpy(train.flat_float()[:n]), train.labels[:n],
                             torch.from_numpy(test.flat_float()), test.labels)
    print(json.dumps({"split": "test", **scores}, indent=2))
    if args.write:
        card["metrics"] = scores
        name = Path(args.folder).name
        save_model(model, args.folder, card=card, half=card.get("weights_dtype") == "float16",
                   card_markdown=card_markdown(name, card),
                   codes={"codes": codes, "labels": torch.from_numpy(test.labels.astype(np.uint8))})
    return 0


if __name__ == "__main__":
    sys.exit(main())
