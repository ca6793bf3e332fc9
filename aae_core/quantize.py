"""Store a weights folder's weights in 8 bits, measuring what that changes:
``python -m aae_core.quantize FOLDER... --data MNIST_FOLDER``.

For each folder: load the weights as they are (float32 or float16; a config written before recipes
is split into the architecture and the recipe it was trained with), score them on the test set,
round every weight matrix to int8 with a float32 scale per row, score again, and refuse (exit 3,
folder untouched) if a metric moved by more than ``--tolerance`` relative (default 1 %). Otherwise
the folder is rewritten with the int8 weights, every metric recomputed on exactly those weights
(Parzen with the fine σ grid), and the card records both sets of numbers. ``--fewest-bits`` tries 6
and 7 bits first (the same int8 storage with |q| ≤ 31 / 63, smaller under xz) and keeps the fewest
that stays within the tolerance; given an 8-bit folder (whose float weights are gone), it rounds the
8-bit weights again and rewrites the folder only if 6 or 7 bits stay within the tolerance of the
8-bit numbers (the card keeps the earlier rounding's record).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from aae_core.data import DATASETS, DataError, load_dataset
from aae_core.card_text import card_markdown
from aae_core.evaluate import eval_data, evaluate
from aae_core.recipes import legacy_recipe
from aae_core.registry import get_model_class
from aae_core.run_folder import as_stored
from aae_core.weights import (BITS, CODES, WEIGHTS, WeightsError, load_codes, load_tensors, read_json, save_model,
                              stored_name, verify_folder)

# The numbers that must survive rounding (lower- or higher-is-better alike), where a model has them.
CHECKED = ("recon_bce", "knn5_accuracy", "error", "cluster_error_paper", "cluster_error_majority")
# Error rates near 1 % move by more than 1 % relative when a single test image flips: for them a
# change of up to 0.1 percentage point (10 of 10,000 images) is allowed as well.
RATES, RATE_SLACK = ("error", "cluster_error_paper", "cluster_error_majority"), 0.001


def load_any(folder: Path):
    """(model in eval mode with float weights, card, dtype) from a verified folder of any dtype,
    legacy configs included."""
    manifest = verify_folder(folder, required=("config.json", "card.json"))
    meta, card = read_json(folder / "config.json"), read_json(folder / "card.json")
    try:
        cls = get_model_class(meta.get("model"))
        config, recipe = legacy_recipe(meta.get("config"), cls.discriminator_phases)
        model = cls(cls.config_class.from_dict(config))
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{folder / 'config.json'}: {exc}") from None
    if meta.get("dtype") in BITS:
        from aae_core.weights import load_model
        plain = meta["dtype"] == "int8" and stored_name(manifest, WEIGHTS) != WEIGHTS  # the first format
        return load_model(folder), card, "int8-plain" if plain else meta["dtype"]
    state = {k: v.float() for k, v in load_tensors(folder, manifest, WEIGHTS).items()}
    model.load_inference_state_dict(state)
    if "recipe" not in card:  # trained before recipes: record the one it was trained with
        card["recipe"], card["recipe_name"] = recipe.to_dict(), "as trained (settings from its config)"
    return model.eval(), card, meta.get("dtype")


def relative_changes(before: dict, after: dict, also: tuple[str, ...] = ()) -> dict:
    """|after − before| / |before| of every checked metric the model has, and of ``also``'s."""
    return {k: abs(after[k] - before[k]) / max(abs(before[k]), 1e-12) for k in (*CHECKED, *also) if k in before}


def quantize_folder(folder: Path, train, test, tolerance: float, name: str | None = None,
                    fallback: bool = False, fewest_bits: bool = False) -> dict:
    """Round one folder to int8 (see the module docstring); ``name``: the model's name on its card and
    in the command it records (default: the folder's name). ``fallback``: where 8 bits move a metric
    too far, store float16 instead (if that stays within the tolerance) and say so on the card.
    ``fewest_bits``: try 6, then 7, then 8 bits, and store the first that keeps every metric within
    the tolerance (each refusal said on the card)."""
    name = name or folder.name
    model, card, dtype = load_any(folder)
    data = eval_data(card, train, test)
    if dtype in BITS and not (fewest_bits and dtype == "int8"):
        return {"folder": str(folder), "skipped": f"already {dtype}, compressed"}
    if dtype == "int8-plain":  # an 8-bit folder of the first format: same weights, stored compressed
        codes = load_codes(folder) if stored_name(verify_folder(folder), CODES) else None
        save_model(model, folder, card=card, dtype="int8", codes=codes, card_markdown=card_markdown(name, card))
        return {"folder": str(folder), "repacked": "xz-compressed, codes in float16"}
    before, _ = evaluate(model, data, with_parzen=False)
    # fewer than 8 bits must also keep the number the shipped epoch was chosen by and, for a model whose codes
    # are matched to its prior, its distance to the prior (rounding moved a 2-D AAE's by 17-20 %). Not the
    # MMD²: an unbiased estimate near 0, whose relative change says little (float16 alone moved one by 2.4 %)
    also = () if not fewest_bits else tuple(dict.fromkeys(
        k for k in (card.get("selection_metric"), *(("prior_swd",) if model.prior_matched else ())) if k in before))
    weights = {k: v.clone() for k, v in model.inference_state_dict().items()}
    refusals = {}
    # an 8-bit folder (its float weights gone) is rounded again from its 8-bit weights: kept as it is
    # unless 6 or 7 bits stay within the tolerance of the 8-bit numbers
    targets = ("int6", "int7") if dtype == "int8" else \
        (*(("int6", "int7") if fewest_bits else ()), "int8", *(("float16",) if fallback else ()))
    for target in targets:
        model.load_inference_state_dict(as_stored(weights, target))
        after, _ = evaluate(model, data, with_parzen=False)
        change = relative_changes(before, after, also if target in ("int6", "int7") else ())  # 8 bits: the usual rule
        too_far = [k for k, v in change.items() if v > tolerance
                   and not (k in RATES and abs(after[k] - before[k]) <= RATE_SLACK)]
        if not too_far:
            break
        refusals[target] = f"{', '.join(too_far)} moved by more than {tolerance:.1%}"
    report = {"folder": str(folder), "from": dtype, "to": target, "relative_change": change,
              **({"not_stored_as": refusals} if refusals else {})}
    if too_far and dtype == "int8":
        return {**report, "skipped": "8 bits kept: " + "; ".join(f"{t}: {why}" for t, why in refusals.items())}
    if too_far:
        return {**report, "refused": refusals[target]}
    scores, codes = evaluate(model, data)
    earlier = {"earlier": card["quantization"]} if dtype == "int8" and card.get("quantization") else {}
    card.update(metrics=scores, weights_dtype=target, quantization={
        "from": dtype, "to": target, "tolerance": tolerance, "refused": refusals, **earlier,
        "before": {k: before[k] for k in change}, "after": {k: after[k] for k in change},
        "relative_change": change,
        "command": f"python -m aae_core.quantize pretrained/{name} --data MNIST_FOLDER"
                   + (" --fallback" if fallback else "") + (" --fewest-bits" if fewest_bits else "")})
    save_model(model, folder, card=card, dtype=target, codes=codes, card_markdown=card_markdown(name, card))
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aae_core.quantize", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", help="weights folders (e.g. pretrained/aae-gaussian-8d)")
    p.add_argument("--data", default=None, help="folder with the four MNIST IDX files")
    p.add_argument("--dataset", choices=DATASETS, default="mnist")
    p.add_argument("--tolerance", type=float, default=0.01, help="largest relative change allowed (0.01 = 1 %%)")
    p.add_argument("--fallback", action="store_true",
                   help="where 8 bits move a metric too far, store float16 instead (said on the card)")
    p.add_argument("--fewest-bits", action="store_true",
                   help="try 6 and 7 bits before 8 and store the fewest within the tolerance (said on the card)")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        train, test = load_dataset(args.data, "train", args.dataset), load_dataset(args.data, "test", args.dataset)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rc = 0
    for folder in args.folders:
        try:
            report = quantize_folder(Path(folder), train, test, args.tolerance, fallback=args.fallback,
                                     fewest_bits=args.fewest_bits)
        except (WeightsError, ValueError) as exc:
            report, rc = {"folder": folder, "error": str(exc)}, 2
        if "refused" in report:
            rc = 3
        print(json.dumps(report), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
