"""The label-aware family: losses, label sampling, evaluation metrics and training with labels."""
import json
import math

import numpy as np
import pytest
import torch

from aae_core import losses, metrics, train
from aae_core.data import labelled_subset, split_indices
from aae_core.registry import get_model_class
from aae_core.weights import load_codes, load_model

SMALL = ["--hidden", "32,32", "--batch-size", "50", "--no-progress", "--threads", "1", "--dataset", "idx"]


# -- losses ---------------------------------------------------------------------------------------
def test_head_distance_penalty_closed_form():
    heads = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 10.0]])  # pair distances 5, 10, √(9+36)≈6.7
    assert losses.head_distance_penalty(heads, 6.0).item() == pytest.approx(1.0)  # only the pair at 5
    assert losses.head_distance_penalty(heads, 5.0).item() == 0.0
    expected = (8 - 5) + (8 - math.sqrt(45))
    assert losses.head_distance_penalty(heads, 8.0).item() == pytest.approx(expected, rel=1e-6)
    same = torch.zeros(3, 2, requires_grad=True)  # coincident heads: finite penalty and gradient
    losses.head_distance_penalty(same, 1.0).backward()
    assert torch.isfinite(same.grad).all()
    stacked = torch.stack([heads, 2 * heads])  # N×K×d: one penalty per model (the stacked trainer's)
    torch.testing.assert_close(losses.head_distance_penalty(stacked, 8.0),
                               torch.stack([losses.head_distance_penalty(h, 8.0) for h in stacked]))
    assert losses.head_distance_penalty(stacked, 8.0)[1].item() == pytest.approx(0.0)  # 10, 20, 13.4 apart


def test_cross_entropy_matches_log_softmax():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    expected = -(torch.log_softmax(logits, 1)[0, 0] + math.log(1 / 3)) / 2
    assert losses.cross_entropy(logits, torch.tensor([0, 2])).item() == pytest.approx(expected.item())


# -- data ---------------------------------------------------------------------------------------------
def test_labelled_subset_is_balanced_seeded_and_inside_the_split():
    labels = np.random.default_rng(0).integers(0, 10, 5000)
    a = labelled_subset(labels, 100, seed=3)
    assert len(a) == 100 == len(set(a.tolist())) and np.bincount(labels[a], minlength=10).tolist() == [10] * 10
    assert np.array_equal(a, labelled_subset(labels, 100, seed=3))
    assert not np.array_equal(a, labelled_subset(labels, 100, seed=4))
    odd = labelled_subset(labels, 23, seed=0)
    assert np.bincount(labels[odd], minlength=10).tolist() == [3, 3, 3] + [2] * 7
    with pytest.raises(ValueError, match="only"):
        labelled_subset(np.zeros(50, dtype=int), 20)
    with pytest.raises(ValueError, match="1..50"):
        labelled_subset(np.zeros(50, dtype=int), 0)


def test_split_indices():
    assert split_indices(60_000, 10_000) == (slice(0, 50_000), slice(50_000, 60_000))
    assert split_indices(60_000, 10_000, limit=1000) == (slice(0, 1000), slice(50_000, 60_000))
    assert split_indices(100) == (slice(0, 100), slice(100, 100))
    with pytest.raises(ValueError, match="validation split"):
        split_indices(100, 100)


# -- metrics ------------------------------------------------------------------------------------------
def test_cluster_rules_on_a_hand_made_example():
    # 3 clusters, 6 validation images
    probs = torch.tensor([[.9, .1, 0], [.6, .4, 0], [.7, .3, 0], [0, .8, .2], [0, .3, .7], [0, .4, .6]])
    labels = np.array([1, 2, 2, 3, 4, 5])
    # paper rule: most confident image per cluster → cluster 0: image 0 (label 1), 1: image 3 (3), 2: image 4 (4)
    assert metrics.cluster_label_map(probs, labels, "paper").tolist() == [1, 3, 4]
    # majority: cluster 0 holds labels {1, 2, 2} → 2; cluster 1 {3} → 3; cluster 2 {4, 5} → 4 (tie: lowest)
    mapping = metrics.cluster_label_map(probs, labels, "majority")
    assert mapping.tolist() == [2, 3, 4]
    assert metrics.cluster_error(probs, labels, mapping) == pytest.approx(2 / 6)
    sizes, purity = metrics.cluster_purity(probs, labels)
    assert sizes.tolist() == [3, 1, 2] and purity.tolist() == pytest.approx([2 / 3, 1.0, 0.5])
    assert metrics.classification_error(probs, np.array([0, 0, 1, 1, 2, 2])) == pytest.approx(1 / 6)  # image 2
    with pytest.raises(ValueError, match="rule"):
        metrics.cluster_label_map(probs, labels, "vote")


def test_parzen_matches_the_gaussian_density_and_picks_the_right_width():
    s = torch.zeros(1, 3)
    x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    sigma = 0.5
    expected = [-1 / (2 * sigma**2) - 1.5 * math.log(2 * math.pi * sigma**2), -1.5 * math.log(2 * math.pi * sigma**2)]
    assert metrics.parzen_log_likelihood(s, x, sigma).tolist() == pytest.approx(expected)
    # two samples: log of the mean of the two kernels
    two = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    k = [math.exp(-1 / (2 * sigma**2))] * 2
    ll = metrics.parzen_log_likelihood(two, x[:1], sigma).item()
    assert ll == pytest.approx(math.log(sum(k) / 2) - 1.5 * math.log(2 * math.pi * sigma**2))
    # samples drawn from N(0, 0.3²): validation likelihood peaks near the true spread (σ grid)
    g = torch.Generator().manual_seed(0)
    samples, val = torch.randn(3000, 1, generator=g) * 0.3, torch.randn(500, 1, generator=g) * 0.3
    best, scores = metrics.parzen_select_sigma(samples, val, sigmas=(0.01, 0.05, 0.1, 1.0, 3.0))
    assert best in (0.05, 0.1) and scores[best] == max(scores.values())


# -- training with labels -----------------------------------------------------------------------------
def cli(data, out, model, *extra, epochs=2):
    return train.main(["--model", model, "--data", str(data), "--epochs", str(epochs), "--out", str(out),
                       *SMALL, *extra])


def test_semi_supervised_cli_selects_on_validation_and_scores_the_test_set(idx_folder, tmp_path):
    out = tmp_path / "semi"
    assert cli(idx_folder, out, "semi-aae", "--val-size", "100", "--labels", "20", "--set", "latent_dim=3",
               "--set", "xent.lr=0.01", "--batch-size", "20", epochs=4) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["train_images"] == 200 and card["val_images"] == [200, 300] and card["labels"] == 20
    assert card["labelled"] and "20 of them" in card["data"]
    val = [h["val_error"] for h in card["history"]]
    assert len(val) == 4 and card["selection"]["score"] == min(val)
    assert card["selected_epoch"] == 1 + val.index(min(val))
    m = card["metrics"]
    assert 0 <= m["error"] <= 1 and "parzen_ll" in m and "cluster_error_paper" not in m
    assert m["error"] < 0.5  # synthetic digits are separable from 20 labels
    model = load_model(out)
    probs = model.classify(torch.rand(4, 784))
    assert probs.shape == (4, 10)
    codes = load_codes(out)
    assert codes["probs"].shape == (100, 10) and codes["codes"].shape == (100, 3)

    from aae_core import evaluate
    assert evaluate.main([str(out), "--data", str(idx_folder), "--dataset", "idx"]) == 0


def test_selection_ships_the_best_epoch_not_the_last(idx_folder, tmp_path, monkeypatch):
    scores = iter([0.5, 0.1, 0.9])
    kept = {}

    def select(model):
        score = next(scores)
        kept[score] = {k: v.clone() for k, v in model.inference_state_dict().items()}
        return {"score": score}

    cls = get_model_class("aae")
    torch.manual_seed(0)
    model = cls(cls.config_class(hidden=(16, 16), disc_hidden=(16,)))
    settings = train.TrainSettings(epochs=3, batch_size=50, select_every=1)
    run = train.train(model, torch.rand(100, 784), settings, progress=False, log=False, select=select)
    assert run["best"]["epoch"] == 2
    for k, v in model.inference_state_dict().items():
        assert torch.equal(v, kept[0.1][k]), k


def test_clustering_cli_names_clusters_on_validation(idx_folder, tmp_path):
    out = tmp_path / "clusters"
    assert cli(idx_folder, out, "cluster-aae", "--val-size", "100", "--set", "n_classes=12", epochs=2) == 0
    m = json.loads((out / "card.json").read_text())["metrics"]
    assert {"cluster_error_paper", "cluster_error_majority"} <= set(m) and "error" not in m
    assert load_model(out).cluster(torch.rand(2, 784)).shape == (2, 12)
    codes = load_codes(out)
    assert codes["probs"].shape == (100, 12)
    for rule in ("paper", "majority"):  # each cluster's digit, read off the validation split
        mapping = codes[f"cluster_map_{rule}"]
        assert mapping.shape == (12,) and 0 <= mapping.min() and mapping.max() <= 9


def test_label_models_refuse_missing_labels_and_bad_label_counts(idx_folder, tmp_path, capsys):
    assert cli(idx_folder, tmp_path / "s", "supervised-aae", epochs=1) == 2
    assert "--labels all" in capsys.readouterr().err
    assert cli(idx_folder, tmp_path / "s", "semi-aae", "--labels", "5000", epochs=1) == 2
    assert "labelled images" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(idx_folder, tmp_path / "s", "semi-aae", "--labels", "many", epochs=1)
    assert cli(idx_folder, tmp_path / "s", "semi-aae", "--val-size", "300", epochs=1) == 2


def test_supervised_and_label_conditioned_train_from_the_cli(idx_folder, tmp_path):
    assert cli(idx_folder, tmp_path / "sup", "supervised-aae", "--labels", "all", "--latent-dim", "3", epochs=1) == 0
    sup = load_model(tmp_path / "sup")
    assert sup.decode(torch.zeros(2, 3), torch.tensor([1, 8])).shape == (2, 784)
    assert cli(idx_folder, tmp_path / "lab", "label-aae", "--prior", "swissroll", "--labels", "100", epochs=1) == 0
    assert load_model(tmp_path / "lab").prior.spec()["name"] == "swissroll"


def test_a_killed_semi_supervised_run_resumes_to_the_same_chosen_epoch(idx_folder, tmp_path, monkeypatch):
    from aae_core.models.categorical import CategoricalAAE

    args = ("--val-size", "100", "--labels", "20", "--set", "latent_dim=3", "--set", "xent.lr=0.01",
            "--batch-size", "20")
    assert cli(idx_folder, tmp_path / "straight", "semi-aae", *args, epochs=3) == 0
    step, calls = CategoricalAAE.train_step, {"n": 0}

    def dying_step(self, batch, opts):
        calls["n"] += 1
        if calls["n"] == 10 * 2 + 3:  # 10 steps per epoch: dies in epoch 3
            raise KeyboardInterrupt
        return step(self, batch, opts)

    monkeypatch.setattr(CategoricalAAE, "train_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        cli(idx_folder, tmp_path / "killed", "semi-aae", *args, epochs=3)
    monkeypatch.setattr(CategoricalAAE, "train_step", step)
    assert cli(idx_folder, tmp_path / "killed", "semi-aae", *args, epochs=3) == 0
    a, b = (json.loads((tmp_path / run / "card.json").read_text()) for run in ("straight", "killed"))
    assert a["selection"] == b["selection"] and a["metrics"]["error"] == b["metrics"]["error"]
    ma, mb = load_model(tmp_path / "straight"), load_model(tmp_path / "killed")
    for (k, v), (_, w) in zip(ma.inference_state_dict().items(), mb.inference_state_dict().items()):
        assert torch.equal(v, w), k
