"""The typed card (aae_core.card): every shipped card reads back whole, and what readers ask of it."""
import json

import pytest

import aae_core
from aae_core.card import Card


@pytest.mark.parametrize("name", aae_core.list_pretrained())
def test_every_shipped_card_reads_as_a_card_and_writes_back_the_same(name):
    raw = aae_core.pretrained_card(name)
    card = Card.of(raw)
    assert card.to_dict() == raw and not card.extra  # every key a field: nothing read by a string elsewhere
    assert card.model == raw["model"] and card.prior_name == raw["prior"]["name"] and card.metrics == raw["metrics"]
    assert json.loads(json.dumps(card.to_dict())) == raw


def test_a_card_of_an_older_or_unknown_shape_keeps_what_it_does_not_name():
    card = Card.of({"model": "aae", "epochs": 20, "val_images": [50_000, 60_000], "made_by": "a later version"})
    assert card.val_images == (50_000, 60_000) and card.extra == {"made_by": "a later version"}
    assert card.epochs_run == 20 and card.selection_score == float("inf") and card.hidden == () and card.arch == "mlp"
    assert card.to_dict()["made_by"] == "a later version" and card.to_dict()["val_images"] == [50_000, 60_000]
    assert Card.of(card) is card and Card.of(None) == Card()
    budget = Card.of({"epochs": 5000, "epochs_done": 125, "selection": {"score": 0.02}})
    assert budget.epochs_run == 125 and budget.selection_score == 0.02


def test_compact_rounds_a_log_s_floats_to_six_significant_digits_and_nothing_else():
    from aae_core.card import compact
    row = {"d": 1.030515432357788, "epoch": 7, "recon": 203.1273651123047, "tiny": 3.14159265e-7, "name": "x",
           "curve": [[5, 0.5338002858353131]], "flag": True}
    assert compact(row) == {"d": 1.03052, "epoch": 7, "recon": 203.127, "tiny": 3.14159e-7, "name": "x",
                            "curve": [[5, 0.5338]], "flag": True}
    assert type(compact(row)["epoch"]) is int and compact(row)["flag"] is True


def test_a_trained_run_s_card_logs_its_history_compactly(trained_dir):
    from aae_core.weights import read_json
    history = read_json(trained_dir / "card.json")["history"]
    floats = [v for h in history for v in h.values() if isinstance(v, float)]
    assert floats and all(len(f"{abs(v):e}".split("e")[0].replace(".", "").rstrip("0")) <= 6 for v in floats)
