"""The results table, ours next to the paper's: ``python -m aae_core.report [--write docs/results.md]``.

Every number is read from a shipped model's card, which the training run (or
``python -m aae_core.evaluate FOLDER --data MNIST --write``) computed from the shipped weights on
the MNIST test set, after choosing the epoch on the validation split.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import aae_core
from aae_core.card import Card
from aae_core import paper
from aae_core.card_text import card_markdown, selection_metric_of
from aae_core.metric_table import caption, label, show
from aae_core.weights import rewrite_card_markdown

PROTOCOL = """Protocol (the paper's): the last 10,000 of the 60,000 training images are the validation split; the
labelled images are drawn from the other 50,000, the same number per digit, with a recorded label seed;
every choice — the epoch that ships, the clusters' labels, the Parzen window's width — is made on the
validation split; the 10,000 test images give the final numbers only. Clustering error, paper rule: each
cluster takes the label of its most confident validation image; majority rule: the most common
validation label among its members. The clustering models' epoch was chosen by the majority-rule
clustering error on the validation split, which reads validation labels: that choice is not label-free.
Parzen: 10,000 samples decoded from the prior, σ chosen on 1,000 validation images from 25 widths
×1.1 apart (0.05–0.5, widened while the best sits on an edge, so the chosen width is an interior
optimum), mean log-likelihood of the 10,000 test images ± its standard error. The two calibration rows
put things that are not models through the same protocol: real training images, and each of them
averaged with its nearest training neighbours — the score rewards blur."""


def _cards(root=None) -> dict[str, Card]:
    return {name: Card.of(aae_core.load_pretrained(name, root).card) for name in aae_core.list_pretrained(root)}


def _time(card: Card) -> str:
    return f"{card.wall_s / 60:.0f} min, {card.hardware}"


def _epochs(card: Card) -> str:
    selected, done = card.selected_epoch, card.epochs_run  # done: fewer than asked where a time budget ran out
    return f"{selected} of {done}" if selected and selected != done else str(done)


def paper_table(cards: dict[str, Card | dict]) -> str:
    rows = ["| result | paper | best public re-implementation | ours | gap | model, runs | epochs (chosen of run) | training |",
            "|---|---|---|---|---|---|---|---|"]
    for r in paper.PAPER_RESULTS:
        if r.model not in cards:
            rows.append(f"| {r.result} | {r.paper} | {r.public} | not trained yet | — | `{r.model}` | — | — |")
            continue
        card = Card.of(cards[r.model])
        shown, value = paper.ours(r, card.metrics)
        gap = "—" if value is None else (f"{value - r.paper_value:+.2f} %-points" if r.unit == "%"
                                         else f"{value - r.paper_value:+.1f} nats")
        spread = paper.over_seeds(r, card.seeds)
        runs = (f"{card.n_seeds} runs, shipped: seed {card.seed} (median validation)" if spread
                else f"1 run (seed {card.seed})")
        rows.append(f"| {r.result} | {r.paper} | {r.public} | **{shown}**{f' ({spread})' if spread else ''} | {gap} "
                    f"| `{r.model}`, {runs} | {_epochs(card)} | {_time(card)} |")
        if r.metric == "parzen_ll":
            rows += calibration_rows(r.paper_value)
    return "\n".join(rows)


def calibration_rows(paper_value: float) -> list[str]:
    """Two rows under the Parzen result: real data and local means through the same protocol."""
    cal = paper.parzen_calibration()
    if cal is None:
        return ["| Parzen calibration | — | — | not computed (`python -m aae_core.calibrate`) | — | — | — | — |"]
    return [f"| Parzen, calibration: {what} | — | — | {cal[key]['ll']:.1f} ± {cal[key]['se']:.1f} "
            f"| {cal[key]['ll'] - paper_value:+.1f} nats | no model (σ {cal[key]['sigma']:.3f}) | — | — |"
            for key, what in (("real", "10,000 real training images"),
                              ("local_means", f"the same, each averaged with its {cal['k']} nearest neighbours"))]


def _pct(m: dict, key: str) -> str:
    return f"{100 * m[key]:.2f} %" if key in m else "—"


def results_rows(cards: dict[str, Card | dict]) -> list[dict[str, str]]:
    """Every shipped model's test metrics, one dict of displayed values per model (column → text)."""
    rows = []
    for name, card in cards.items():
        card = Card.of(card)
        m = card.metrics
        rows.append({
            "model": name, "prior": card.prior_name, "labels": f"{card.labels:,}" if card.labels else "—",
            "recipe": card.recipe_name or "—", "epochs": _epochs(card), "error": _pct(m, "error"),
            "clustering error (paper / majority)": (f"{_pct(m, 'cluster_error_paper')} / {_pct(m, 'cluster_error_majority')}"
                                                    if "cluster_error_paper" in m else "—"),
            **{label(k): show(k, m) for k in ("knn5_accuracy", "prior_swd", "prior_mmd", "parzen_ll", "recon_bce")},
            "train time": _time(card)})
    return rows


def results_table(root=None, cards: dict[str, Card | dict] | None = None) -> str:
    """Every shipped model's test metrics, as a markdown table."""
    rows = results_rows(_cards(root) if cards is None else cards)
    code = ("model", "recipe")  # names shown as code
    header = list(rows[0]) if rows else []
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(f"`{v}`" if k in code else v for k, v in r.items()) + " |" for r in rows]
    return "\n".join(lines)


def recipes_table(cards: dict[str, Card | dict]) -> str:
    """Every model whose recipe was chosen on validation: each recipe's best validation score (or
    how its run ended), the one that shipped in bold."""
    rows = ["| model | selection metric (validation, lower is better) | recipes compared |", "|---|---|---|"]
    for name, card in cards.items():
        card = Card.of(card)
        compared = card.recipes_compared
        if not compared:
            continue
        cells = []
        for recipe, v in sorted(compared.items(), key=lambda kv: (kv[1].get("validation_score") is None,
                                                                  kv[1].get("validation_score") or 0)):
            shown = (f"{v['validation_score']:.4g}" if v.get("validation_score") is not None
                     else v.get("unfinished", "did not finish"))
            cells.append(f"**`{recipe}` {shown} (shipped)**" if recipe == card.recipe_name else f"`{recipe}` {shown}")
        rows.append(f"| `{name}` | {selection_metric_of(card)} | {'; '.join(cells)} |")
    return "\n".join(rows) if len(rows) > 2 else "No model here was chosen among several recipes."


def results_markdown(root=None) -> str:
    every = _cards(root)
    cards = {n: c for n, c in every.items() if (c.dataset or "mnist") == "mnist"}
    fashion = {n: c for n, c in every.items() if c.dataset == "fashion-mnist"}
    fashion_section = f"""
## Fashion-MNIST (its test set)

The 2-D AAE and VAE of the comparison, trained on Fashion-MNIST's clothes (the same protocol: the first
50,000 training images, the last 10,000 for validation, the test set for these numbers only).

{results_table(cards=fashion)}
""" if fashion else ""
    return f"""# Results: the AAE paper's MNIST numbers next to ours

Regenerate with `python -m aae_core.report --write docs/results.md` (numbers from the model cards;
retrain with `make pretrained MNIST=...` or `make pretrained-all MNIST=...`; the recipes and the table of
shipped models: aae_core/recipes.py, aae_core/shipped.py). Gaps are reported, never hidden:
see docs/training-notes.md for what was tried and what we believe would close them.

{PROTOCOL}

## The paper's results

{paper_table(cards)}

{paper.BASELINES}

## Recipes chosen on the validation split

{recipes_table(cards)}

Recipes: aae_core/recipes.py; the runs' validation curves: docs/training-notes.md.

## Every shipped model (MNIST test set)

{results_table(cards=cards)}

{caption(("error", "knn5_accuracy", "prior_swd", "prior_mmd", "parzen_ll", "recon_bce"))} For the
semi-supervised and clustering models the codes are the style codes z, which should carry little of the label.
{fashion_section}"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aae_core.report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--write", metavar="FILE", help="write the markdown to FILE (e.g. docs/results.md)")
    args = p.parse_args(argv)
    text = results_markdown()
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        for name, card in _cards().items():  # the comparison goes into each card for people, too
            rewrite_card_markdown(aae_core.PRETRAINED_DIR / name, card_markdown(name, card))
        print(f"wrote {args.write} and the model cards' README.md", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
