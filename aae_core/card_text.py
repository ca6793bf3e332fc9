"""A card's README (``card_markdown``): what a weights folder says of itself in words — the model,
its data, training, the epoch chosen and how, the recipe, the stored weights and what rounding them
changed, the test metrics with their notes, the paper's number beside ours, how many runs stand
behind it. Written from the typed card (``aae_core.card``) whenever a folder is saved."""
from __future__ import annotations

import json

from aae_core.card import Card
from aae_core.metric_table import METRICS


METRIC_NOTES = {k: m.note for k, m in METRICS.items()}  # the cards' explanations (aae_core.metric_table)


SELECTION_WORDS = {
    "prior_swd": "the sliced Wasserstein distance between the validation codes and the prior (lower is better)",
    "cond_prior_swd": "the mean distance of each digit's validation codes to its own prior component",
    "recon_bce": "the validation reconstruction NLL",
    "parzen_nll": "the validation Parzen NLL (σ chosen on 1,000 validation images, scored on 2,000 others)",
    "error": "the validation error of q(y|x)",
    "cluster_error_majority": "the validation clustering error, clusters named by the majority of their "
                              "validation members: this rule reads the validation labels, so the choice of epoch "
                              "is not label-free",
}


def selection_metric_of(card: Card | dict) -> str:
    """The validation metric that chose a card's epoch (cards written before it was recorded: the
    family's rule of the time)."""
    card = Card.of(card)
    if card.selection_metric is None:
        from aae_core.evaluate import selection_metric_name
        from aae_core.registry import get_model_class

        return selection_metric_name(get_model_class(card.model), card.labelled)
    return card.selection_metric


def _selection_line(card: Card) -> str:
    if not card.selection:
        return ""
    how = SELECTION_WORDS[selection_metric_of(card)]
    budget = f" (its time budget ran out; {card.epochs} asked)" if (card.epochs_run or 0) < (card.epochs or 0) else ""
    return (f"- epoch shipped: {card.selected_epoch} of {card.epochs_run}{budget}, chosen on the validation split by "
            f"{how} (score {card.selection.get('score', float('nan')):.4g})\n")


def _recipe_line(card: Card) -> str:
    recipe = card.recipe
    if not recipe:
        return "not recorded"
    phases = "; ".join(f"{k}: {v['kind']} lr {v['lr']:g}" + (f" momentum {v['momentum']:g}" if v['kind'] == 'sgd'
                                                             else f" β {v['betas'][0]:g}/{v['betas'][1]:g}")
                       + (f", ÷{v['decay_factor']:g} at epoch {', '.join(map(str, v['decay_at']))}" if v['decay_at'] else "")
                       for k, v in recipe["phases"].items())
    extras = [f"{k.replace('_', ' ')} {recipe[k]:g}" for k in ("input_noise", "input_dropout", "hidden_dropout")
              if recipe.get(k)]
    if recipe.get("init_std"):
        extras.append(f"weights N(0, {recipe['init_std']:g}²)")
    if recipe.get("disc_noise"):
        extras.append("discriminator input noise " + ", ".join(f"{k} {v:g}" for k, v in recipe["disc_noise"].items()))
    compared = card.recipes_compared
    tried = ("; compared on validation: " + ", ".join(
        f"`{r}` " + (f"{v['validation_score']:.4g}" if v.get("validation_score") is not None else v.get("unfinished", "—"))
        for r, v in compared.items()) if compared else "")
    return f"`{card.recipe_name or 'custom'}` ({phases}{'; ' + '; '.join(extras) if extras else ''}){tried}"


def _budget_note(card: Card) -> str:
    done = card.epochs_run
    return f" asked, {done} done (its time budget ran out)" if done < card.epochs else ""


def _today(name: str, card: Card) -> str:
    """For a model in the table of shipped models: the command that reruns it with today's code."""
    from aae_core.shipped import SHIPPED

    row = SHIPPED.get(name)
    if row is None or card.recipe_name not in row.recipes:
        return ""
    epochs = f" --epochs {card.epochs}" if card.epochs != row.epochs else ""
    return (f" (as run; the same run with today's code: "
            f"`python -m aae_core.shipped command {name} --recipe {card.recipe_name}{epochs}`)")


def _runs_note(card: Card) -> str:
    """How many runs stand behind the numbers."""
    if card.n_seeds > 1:
        return (f"{card.n_seeds} runs (seeds), their test numbers' mean ± std on the card (`seeds`); this one is "
                f"seed {card.seed}, the one of median validation score")
    return f"one run (seed {card.seed}), so no ± over runs"


def _quantization_section(card: Card) -> str:
    q = card.quantization
    if not q:
        return ""
    rows = "\n".join(f"| {k} | {q['before'][k]:.6g} | {q['after'][k]:.6g} | {100 * q['relative_change'][k]:.3f} % |"
                      for k in q["relative_change"])
    to = q.get("to", "int8")
    refused = "".join(f" Not stored as {d}: {why}." for d, why in (q.get("refused") or {}).items())
    return f"""
## Stored weights: what the rounding changed (test set)

Rounded from {q['from']} weights to {to} (`{q['command']}`); refused had any of these moved by more than
{100 * q['tolerance']:g} % relative (error rates: or 0.1 percentage point).{refused}

| metric | {q['from']} weights | {to} weights | relative change |
|---|---|---|---|
{rows}
"""


def card_markdown(name: str, card: Card | dict) -> str:
    from aae_core import paper

    card = Card.of(card)
    m = card.metrics
    rows = "\n".join(f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in m.items())
    notes = "\n".join(f"- {k}: {METRIC_NOTES[k]}" for k in m if k in METRIC_NOTES)
    result = paper.for_model(name)
    comparison = ""
    if result is not None:
        shown, _ = paper.ours(result, m)
        comparison = (f"\n## Against the paper\n\n{result.result}: **ours {shown}**; the paper {result.paper}; "
                      f"the best public re-implementation {result.public}. All shipped models side by side: "
                      "docs/results.md (`python -m aae_core.report --write docs/results.md`).\n")
    return f"""# {name}

{card.description}

- model: `{card.model}`, latent dimension {card.latent_dim}, prior `{json.dumps(card.prior)}`
- data: {card.data}
- training: {card.epochs} epochs{_budget_note(card)}, batch {card.batch_size}, seed {card.seed}, \
wall time {card.wall_s:.0f} s on {card.hardware}
{_selection_line(card)}- recipe: {_recipe_line(card)}
- weights: {card.weights_dtype}{' (8-bit rows with a float32 scale each, dequantised at load)' if card.weights_dtype == 'int8' else ''}; \
encoder + decoder only, the discriminators are training-only
- command: `{card.command}`{_today(name, card)}
{_quantization_section(card)}
## Test-set metrics (MNIST test set, 10,000 images; used for nothing but this table)

| metric | value |
|---|---|
{rows}

{notes}
{comparison}
Metrics are computed on the weights exactly as shipped ({card.weights_dtype}); reproduce them with
`python -m aae_core.evaluate pretrained/{name} --data MNIST_FOLDER`.

Limitations: trained for {card.epochs_run} epochs on {card.hardware}, far fewer than the paper's; \
{_runs_note(card)}; docs/training-notes.md says how the recipe was chosen.
"""
