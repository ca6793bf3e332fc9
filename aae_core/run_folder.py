"""What a finished run leaves: its card (what was trained, on what, how, for how long, where, with
which command) and its weights folder, evaluated as stored (``save_run``). Used by the training CLI
(``aae_core.train``) and by the sweeps (``aae_core.sweep``) alike.
"""
from __future__ import annotations

import platform
from pathlib import Path

import torch

from aae_core.card import compact
from aae_core.card_text import card_markdown
from aae_core.evaluate import EvalData, evaluate
from aae_core.recipes import Recipe
from aae_core.weights import BITS, dequantize_int8, quantize_int8, save_model, write_json


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
        "weights_dtype": weights, "command": command, "history": compact(run["history"]),
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
    """The weights as a folder stores them and a load returns them (rounded to float16 or 8/7/6 bits)."""
    if dtype in BITS:
        return dequantize_int8(quantize_int8(state, BITS[dtype]), Path("memory"), BITS[dtype])
    return {k: v.to(getattr(torch, dtype)).float() for k, v in state.items()}


def describe_data(dataset: str, n: int, val_size: int, n_labels: int, label_seed: int) -> str:
    text = f"{dataset} training set, first {n:,} images" if n < 60_000 else f"{dataset} training set ({n:,} images)"
    if val_size:
        text += f"; validation split: the last {val_size:,} training images (model selection only)"
    if n_labels:
        text += (f"; labels of all {n_labels:,}" if n_labels == n
                 else f"; labels of {n_labels:,} of them (the same number per digit, label seed {label_seed}), the rest unlabelled")
    return text

