"""A shipped model's 10k MNIST test codes, recomputed at load instead of shipped.

Every shipped MNIST model's codes are one encoder pass over the MNIST test set that ships in
``pretrained/mnist-test``: storing them (float16, xz) took 2.4 MB of the 40 MB that ``pretrained/``
may hold — room for two more models. So a weights folder may store only what cannot be recomputed
from its model and that test set:

- ``codes`` (N×d) and ``probs`` (q(y|x), N×K) — recomputed here when absent (0.05–1.2 s on one CPU
  thread, once per server: the app caches the result);
- ``labels`` (N) — the test set's own labels when absent;
- ``cluster_map_paper`` / ``cluster_map_majority`` (K) — always stored: they were read off the
  *validation* images, which do not ship.

``slim(folder)`` drops ``codes``, ``probs`` and ``labels`` from a folder's codes file after checking
that the recomputed ones match them (to float16's rounding), and removes the file where nothing is
left. Only MNIST models are slimmed (the test set that ships is MNIST's).

    python -m aae_core.test_codes slim NAME… | all     # what ``shipped pick`` / ``adopt`` do to a new folder
"""
from __future__ import annotations

import argparse
import lzma
import os
from pathlib import Path

import numpy as np
import torch

from aae_core.registry import get_model_class
from aae_core.weights import (CODES, WeightsError, load_codes, load_model, read_json, replace_files, save_bytes,
                              stored_name, verify_folder)

RECOMPUTED = ("codes", "probs", "labels")
BATCH = 1000  # images per encoder pass: 3 MB of float32 at a time, not the whole set's 31 MB
TOLERANCE = 1e-3  # largest |stored − recomputed| relative to the codes' largest magnitude (float16: 4.9e-4)


@torch.no_grad()
def compute(model, images: np.ndarray) -> dict[str, torch.Tensor]:
    """codes N×d float32 (and probs N×K for a model with a categorical code) of uint8 images N×28×28
    (or N×784), in batches converted to [0, 1] one at a time."""
    flat = images.reshape(len(images), -1)
    codes, probs = [], []
    for i in range(0, len(flat), BATCH):
        x = torch.from_numpy(flat[i:i + BATCH].astype(np.float32) / 255.0)  # B×784
        codes.append(model.encode(x).float())  # B×d
        if model.categorical_code:
            probs.append(model.class_probs(x).float())  # B×K
    out = {"codes": torch.cat(codes)}
    if probs:
        out["probs"] = torch.cat(probs)
    return out


def _is_mnist(folder: Path, manifest: dict) -> bool:
    """Whether a verified folder's model was trained on MNIST (its card, read without verifying again)."""
    card = read_json(folder / "card.json") if "card.json" in manifest["files"] else {}
    return card.get("dataset", "mnist") == "mnist"


def _split(test):
    return test() if callable(test) else test


def complete(folder: str | os.PathLike, test, model=None) -> dict[str, torch.Tensor]:
    """A verified weights folder's test codes, whole: what its codes file stores, with ``codes``,
    ``probs`` and ``labels`` recomputed where absent. ``test``: the MNIST test split (``images`` N×28×28
    uint8, ``labels`` N), or a callable returning it (called only if something must be recomputed);
    ``model``: the folder's model if already loaded (else it is loaded here)."""
    folder = Path(folder)
    manifest = verify_folder(folder)
    stored = load_codes(folder, manifest) if stored_name(manifest, CODES) else {}
    model_needed = "codes" not in stored or ("probs" not in stored and _categorical(folder, model))
    if not model_needed and "labels" in stored:
        return stored
    if not _is_mnist(folder, manifest):
        raise WeightsError(f"{folder}: stores no test codes, and only an MNIST model's can be recomputed")
    split = _split(test)
    if model_needed:
        model = model if model is not None else load_model(folder)
        stored = {**compute(model, split.images), **stored}
    stored.setdefault("labels", torch.from_numpy(np.asarray(split.labels).astype(np.uint8)))
    if len(stored["labels"]) != len(stored["codes"]):
        raise WeightsError(f"{folder}: {len(stored['codes'])} stored codes for {len(stored['labels'])} test images")
    return stored


def _categorical(folder: Path, model) -> bool:
    """Whether the folder's model has q(y|x) (read from its family, no network built)."""
    if model is not None:
        return model.categorical_code
    return get_model_class(read_json(folder / "config.json").get("model")).categorical_code


def slim(folder: str | os.PathLike, test) -> dict:
    """Drop ``codes``, ``probs`` and ``labels`` from a folder's codes file once the recomputed ones
    are checked to match; remove the file where only they were in it. Returns what was done."""
    folder = Path(folder)
    manifest = verify_folder(folder)
    if stored_name(manifest, CODES) is None:
        return {"folder": folder.name, "skipped": "stores no codes"}
    if not _is_mnist(folder, manifest):
        return {"folder": folder.name, "skipped": "not an MNIST model: its codes stay stored"}
    stored = load_codes(folder, manifest)
    split = _split(test)
    fresh = compute(load_model(folder), split.images)
    report = {"folder": folder.name}
    for key in ("codes", "probs"):
        if key in stored:
            if stored[key].shape != fresh[key].shape:
                raise WeightsError(f"{folder}: stored {key} {tuple(stored[key].shape)}, recomputed {tuple(fresh[key].shape)}")
            gap = float((stored[key] - fresh[key]).abs().max() / stored[key].abs().max().clamp_min(1e-12))
            if gap > TOLERANCE:
                raise WeightsError(f"{folder}: recomputed {key} differ from the stored ones by {gap:.1e} (relative)")
            report[f"{key}_gap"] = gap
    if "labels" in stored and not np.array_equal(stored["labels"].numpy(), np.asarray(split.labels)):
        raise WeightsError(f"{folder}: its stored labels are not the shipped test set's")
    kept = {k: v.contiguous() for k, v in stored.items() if k not in RECOMPUTED}
    before = (folder / stored_name(manifest, CODES)).stat().st_size
    if kept:
        replace_files(folder, {CODES: lzma.compress(save_bytes(kept), preset=6)})
    else:
        replace_files(folder, {}, drop=(stored_name(manifest, CODES),))
    after = (folder / CODES).stat().st_size if kept else 0
    return {**report, "kept": sorted(kept), "bytes_before": before, "bytes_after": after}


def main(argv: list[str] | None = None) -> int:
    import aae_core

    ap = argparse.ArgumentParser(prog="python -m aae_core.test_codes", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("slim", help="drop the recomputable test codes from shipped folders (checked first)")
    s.add_argument("names", nargs="+", help="shipped model names, or 'all'")
    args = ap.parse_args(argv)
    names = [n for n in aae_core.list_pretrained() if n != "mnist-test"] if args.names == ["all"] else args.names
    test = aae_core.load_test_set()
    saved = 0
    for name in names:
        report = slim(aae_core.PRETRAINED_DIR / name, test)
        saved += report.get("bytes_before", 0) - report.get("bytes_after", 0)
        print(report, flush=True)
    print(f"{saved / 1e6:.2f} MB saved")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
