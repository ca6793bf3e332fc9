"""Evaluate a weights folder: ``python -m aae_core.evaluate FOLDER --data MNIST_FOLDER``.

Test-set metrics by default (``--write`` stores them, with the test codes, into the folder's card,
README and manifest); ``--val START:END`` scores training images START..END-1 instead (a validation
split for choosing hyper-parameters: the test set is never used for a choice).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aae_core import metrics
from aae_core.data import DATASETS, DataError, load_dataset
from aae_core.weights import WeightsError, load_model, read_json, save_model


@dataclass
class EvalData:
    """The images of one evaluation, all N×784 float tensors with N labels (numpy int64)."""

    train_x: torch.Tensor  # the images the model was trained on (the k-NN is fit on their codes)
    train_y: np.ndarray
    test_x: torch.Tensor
    test_y: np.ndarray
    val_x: torch.Tensor | None = None  # the validation split (cluster labels, Parzen σ); None: not held out
    val_y: np.ndarray | None = None
    labelled: bool = False  # the model learnt q(y|x) from labels: score it as a classifier


def _recon(model, x: torch.Tensor, y: np.ndarray) -> dict:
    labels = torch.from_numpy(y) if model.training_labels == "all" else None
    return metrics.reconstruction_error(model, x, labels=labels)


def parzen(model, val_x: torch.Tensor, test_x: torch.Tensor, n_samples: int = 10_000, seed: int = 0) -> dict:
    """Parzen-window log-likelihood (the GAN paper's protocol): n_samples decoded prior samples,
    σ chosen on the validation images, mean ± standard error over the test images."""
    return metrics.parzen_score(prior_samples(model, n_samples, seed).cpu(), val_x.cpu(), test_x.cpu())


def prior_samples(model, n: int, seed: int = 0) -> torch.Tensor:
    """n images (n×784 float32) decoded from prior samples, drawn 1,000 at a time, chunk k from a
    generator seeded ``seed + k``: the samples of every Parzen score."""
    with torch.no_grad():
        return torch.cat([model.sample(min(1000, n - i), torch.Generator().manual_seed(seed + i // 1000))
                          for i in range(0, n, 1000)]).float()


def categorical_scores(model, data: EvalData, probs: torch.Tensor, y: np.ndarray) -> tuple[dict, dict[str, torch.Tensor]]:
    """Classification error (labelled training) or clustering errors of images with q(y|x) ``probs``
    (N×K) and labels y, both rules, with the label each cluster takes (read off the validation split)
    as K-tensors."""
    if data.labelled:
        return {"error": metrics.classification_error(probs, y)}, {}
    val_probs = metrics.class_probs_all(model, data.val_x)
    maps = {rule: metrics.cluster_label_map(val_probs, data.val_y, rule) for rule in ("paper", "majority")}
    scores = {f"cluster_error_{rule}": metrics.cluster_error(probs, y, m) for rule, m in maps.items()}
    return scores, {f"cluster_map_{rule}": torch.from_numpy(m.astype(np.int64)) for rule, m in maps.items()}


def evaluate(model, data: EvalData, seed: int = 0, with_parzen: bool = True) -> tuple[dict, dict[str, torch.Tensor]]:
    """Test-set metrics, and what the app reads: test codes (N×d), labels, and q(y|x) (N×K) and the
    clusters' labels (K, both rules) where the model has a categorical code."""
    model.eval()
    test_codes = metrics.encode_all(model, data.test_x).float().cpu()
    train_codes = metrics.encode_all(model, data.train_x).float().cpu()
    out = _recon(model, data.test_x, data.test_y)
    out["knn5_accuracy"] = metrics.knn_accuracy(train_codes.numpy(), data.train_y, test_codes.numpy(), data.test_y, k=5)
    for key in model.extra_metrics:  # the family's own measures of its codes
        out[key] = metrics.CODE_METRICS[key](train_codes.numpy(), data.train_y, test_codes.numpy(), data.test_y)
    out["prior_swd"] = metrics.prior_match(test_codes, model.prior, seed=seed)
    out["prior_mmd"] = metrics.prior_mmd(test_codes, model.prior, seed=seed)
    if model.selection_metric == "cond_prior_swd":
        out["cond_prior_swd"] = metrics.conditional_prior_match(test_codes, data.test_y, model.prior, seed=seed)
    codes = {"codes": test_codes, "labels": torch.from_numpy(data.test_y.astype(np.uint8))}
    if model.categorical_code:
        if data.val_x is None and not data.labelled:
            raise ValueError("clustering needs the validation split to name the clusters")
        probs = metrics.class_probs_all(model, data.test_x)  # N×K
        scores, maps = categorical_scores(model, data, probs, data.test_y)
        out.update(scores)
        codes.update(probs=probs, **maps)
    if data.val_x is not None and with_parzen:
        out.update(parzen(model, data.val_x, data.test_x, seed=seed))
    return out, codes


SELECTION_METRICS = ("recon_bce", "prior_swd", "cond_prior_swd", "parzen_nll")


def parzen_nll(model, x: torch.Tensor, n_samples: int = 10_000, seed: int = 0) -> float:
    """The Parzen protocol kept inside a validation split (for choosing an epoch): ``n_samples``
    decoded prior samples, σ chosen on the first half of ``x`` (at most 1,000 images), the negative mean
    log-likelihood of the rest (at most 2,000). Computed where ``x`` is (a GPU during a device run)."""
    if len(x) < 2:
        raise ValueError("the Parzen selection metric needs at least 2 validation images")
    samples = prior_samples(model, n_samples, seed).to(x.device)
    half = min(1000, len(x) // 2)
    sigma, _ = metrics.parzen_select_sigma(samples, x[:half].float())
    return -float(metrics.parzen_log_likelihood(samples, x[half:half + 2000].float(), sigma).mean())


def selection_score(model, x: torch.Tensor, y: np.ndarray, labelled: bool, metric: str | None = None) -> dict:
    """Validation metrics during training, with "score" (lower is better) the one that picks the
    epoch: classification error for a labelled categorical model, clustering error (majority rule,
    clusters named on the same split) for an unsupervised one, else ``metric`` (default: the
    model's ``selection_metric``), one of SELECTION_METRICS."""
    if model.categorical_code:
        probs = metrics.class_probs_all(model, x)
        if labelled:
            err = metrics.classification_error(probs, y)
            return {"error": err, "score": err}
        err = metrics.cluster_error(probs, y, metrics.cluster_label_map(probs, y, "majority"))
        return {"cluster_error": err, "score": err}
    metric = metric or model.selection_metric
    if metric not in SELECTION_METRICS:
        raise ValueError(f"unknown selection metric {metric!r}; choose one of {SELECTION_METRICS}")
    out = _recon(model, x, y)
    if metric == "parzen_nll":
        out["parzen_nll"] = parzen_nll(model, x)
    if metric in ("prior_swd", "cond_prior_swd") or model.selection_metric != "recon_bce":
        codes = metrics.encode_all(model, x).float().cpu()
        out["prior_swd"] = metrics.prior_match(codes, model.prior)
        if "cond_prior_swd" in (metric, model.selection_metric):
            out["cond_prior_swd"] = metrics.conditional_prior_match(codes, y, model.prior)
    return {**out, "score": out[metric]}


def validate(model, x: torch.Tensor, y: np.ndarray, seed: int = 0) -> dict:
    """Validation metrics of a trained model: reconstruction, prior match, and classification or
    clustering error where the model has a categorical code."""
    out = _recon(model, x, y)
    out["prior_swd"] = metrics.prior_match(metrics.encode_all(model, x).float().cpu(), model.prior, seed=seed)
    if model.categorical_code:
        out.update({k: v for k, v in selection_score(model, x, y, labelled=bool(getattr(model, "card", {}).get("labels")))
                    .items() if k != "score"})
    return out


def selection_metric_name(model, labelled: bool, metric: str | None = None) -> str:
    """The name a card gives the validation metric that chooses the epoch of ``model`` (a model or its
    class): classification error (labelled categorical), clustering error by the majority rule
    (unlabelled categorical), else ``metric`` or the family's own."""
    if model.categorical_code:
        return "error" if labelled else "cluster_error_majority"
    return metric or model.selection_metric


from aae_core.card_text import card_markdown  # noqa: E402  (a card's README, written by --write below)


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
            scores = validate(model, x, train.labels[args.val].astype(np.int64))
            print(json.dumps({"split": f"train[{args.val.start}:{args.val.stop}]", **scores}, indent=2))
            return 0
        test = load_dataset(args.data, "test", args.dataset)
        card = read_json(Path(args.folder) / "card.json")
        data = eval_data(card, train, test)
    except (WeightsError, DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scores, codes = evaluate(model, data)
    print(json.dumps({"split": "test", **scores}, indent=2))
    if args.write:
        card["metrics"] = scores
        name = Path(args.folder).name
        save_model(model, args.folder, card=card, dtype=card.get("weights_dtype", "float32"),
                   card_markdown=card_markdown(name, card), codes=codes)
    return 0


def eval_data(card: dict, train, test) -> EvalData:
    """Rebuild a model's splits from its card: the training images it saw, its validation split."""
    flat, labels = train.flat_float(), train.labels.astype(np.int64)
    n = int(card.get("train_images", len(labels)))  # the k-NN is fit on the images the model saw
    val = card.get("val_images")
    if val is not None and not (isinstance(val, list) and len(val) == 2 and 0 <= val[0] < val[1] <= len(labels)):
        raise ValueError(f"card.json: bad val_images {val!r}")
    return EvalData(train_x=torch.from_numpy(flat[:n]), train_y=labels[:n],
                    test_x=torch.from_numpy(test.flat_float()), test_y=test.labels.astype(np.int64),
                    val_x=None if val is None else torch.from_numpy(flat[val[0]:val[1]]),
                    val_y=None if val is None else labels[val[0]:val[1]], labelled=bool(card.get("labelled")))


if __name__ == "__main__":
    sys.exit(main())
