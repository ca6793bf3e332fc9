"""A weights folder's card, typed: what was trained, how, on what data, and what it scored.

The card is written as JSON (``card.json``, by ``aae_core.train`` and ``aae_core.evaluate``) and read
back as a ``Card``: every field named once, here, with its type and its default for older cards, so
that readers write ``card.metrics`` and ``card.prior_name`` instead of string keys with their own
fallbacks. ``Card.of(d)`` accepts the dict ``model.card`` holds (the public API keeps the dict);
fields it does not know are kept in ``extra``, and ``to_dict`` gives the JSON back, unknown keys
included.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Card:
    name: str = ""
    model: str = ""  # the family, as registered (aae_core.registry)
    description: str = ""
    latent_dim: int | None = None
    prior: dict = field(default_factory=dict)  # the prior's spec: {"name": ..., its parameters}
    config: dict = field(default_factory=dict)  # the model's config (widths, arch, ...)
    recipe_name: str | None = None
    recipe: dict | None = None
    dataset: str | None = None  # None: MNIST (cards written before the dataset was recorded)
    data: str = ""  # the data, in words
    train_images: int | None = None
    val_images: tuple[int, int] | None = None  # [start, stop) of the validation split in the training set
    labels: int = 0  # labelled training images (0: none)
    label_seed: int = 0
    labelled: bool = False
    epochs: int | None = None  # asked for
    epochs_done: int | None = None  # done (fewer where a time budget ran out)
    selected_epoch: int | None = None  # the epoch that ships, chosen on validation
    selection_metric: str | None = None
    selection: dict = field(default_factory=dict)  # the chosen epoch's validation scores
    batch_size: int | None = None
    seed: int | None = None
    wall_s: float | None = None
    hardware: str | None = None
    torch: str | None = None
    weights_dtype: str | None = None
    command: str | None = None
    history: list = field(default_factory=list)  # per-epoch losses and validation scores
    metrics: dict = field(default_factory=dict)  # the test-set numbers (aae_core.metric_table's keys)
    seeds: dict | None = None  # a sweep's every seed: per_seed, mean, std, n, shipped_seed
    recipes_compared: dict | None = None  # recipe → validation score, curve, run (pick's comparison)
    quantization: dict | None = None  # how 8-bit storage moved the metrics
    extra: dict = field(default_factory=dict)  # keys this class does not name, kept as they are

    @classmethod
    def of(cls, card: "Card | dict | None") -> "Card":
        if isinstance(card, Card):
            return card
        card = dict(card or {})
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        values = {k: card.pop(k) for k in list(card) if k in known}
        if values.get("val_images") is not None:
            values["val_images"] = tuple(values["val_images"])
        return cls(**values, extra=card)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        if self.val_images is not None:
            out["val_images"] = list(self.val_images)
        return {**{k: v for k, v in out.items() if v is not None}, **self.extra}

    # -- what readers ask of a card -----------------------------------------------------------
    @property
    def prior_name(self) -> str:
        return self.prior.get("name", "?")

    @property
    def hidden(self) -> tuple[int, ...]:
        return tuple(self.config.get("hidden", ()))

    @property
    def arch(self) -> str:
        return self.config.get("arch", "mlp")

    @property
    def n_seeds(self) -> int:
        """How many runs (seeds) stand behind the card's numbers: a sweep's count, else one."""
        return int(self.seeds["n"]) if self.seeds else 1

    @property
    def epochs_run(self) -> int | None:
        """The epochs the run did: ``epochs_done`` where recorded, else the epochs asked for."""
        return self.epochs if self.epochs_done is None else self.epochs_done

    @property
    def selection_score(self) -> float:
        """The chosen epoch's validation score (lower is better; inf where none was recorded)."""
        return float(self.selection.get("score", float("inf")))

    def metric(self, key: str, default=None):
        return self.metrics.get(key, default)


CURVE_DIGITS = 6  # significant digits of a logged loss or validation score: what a curve can show, not float64's 17


def compact(value):
    """A training log's numbers at ``CURVE_DIGITS`` significant digits (history rows, curves), the
    rest as it is: the cards' logs took 0.8 MB of ``pretrained/`` at 17 digits, 0.6 MB at 6."""
    if isinstance(value, float):
        return float(f"{value:.{CURVE_DIGITS}g}")
    if isinstance(value, list):
        return [compact(v) for v in value]
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items()}
    return value

