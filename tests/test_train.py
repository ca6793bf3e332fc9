import json

import pytest
import torch

from aae_core import train
from aae_core.weights import load_model

SMALL = ["--hidden", "32,32", "--batch-size", "50", "--no-progress", "--threads", "1"]


def cli(data, out, *extra, model="aae", epochs=2):
    """The CLI on synthetic data, with the small networks of the ``trained_dir`` fixture."""
    aae_only = ["--set", "disc_hidden=[32]"] if model == "aae" else []
    return train.main(["--model", model, "--data", str(data), "--dataset", "idx", "--epochs", str(epochs),
                       "--out", str(out), *SMALL, *aae_only, *extra])


def test_seeded_smoke_run_writes_a_complete_model(trained_dir):
    card = json.loads((trained_dir / "card.json").read_text())
    assert card["epochs"] == 2 and card["seed"] == 0 and card["command"].startswith("python -m aae_core.train")
    assert [h["epoch"] for h in card["history"]] == [1, 2]
    assert card["history"][1]["recon"] < card["history"][0]["recon"]  # it learned something
    assert set(card["metrics"]) == {"recon_bce", "recon_mse", "knn5_accuracy", "prior_swd", "prior_mmd"}
    assert card["recipe_name"] == "adam-balanced" and card["recipe"]["phases"]["g"]["lr"] == 1e-3
    # synthetic digits are trivially separable: codes of a trained model must carry the label
    assert card["metrics"]["knn5_accuracy"] > 0.5
    assert not (trained_dir / "checkpoint.pt").exists()
    assert "seed 0" in (trained_dir / "README.md").read_text()


def test_same_seed_same_weights(idx_folder, tmp_path, trained_dir):
    assert cli(idx_folder, tmp_path / "again") == 0  # same synthetic data (seed 0) as the fixture
    a, b = load_model(trained_dir), load_model(tmp_path / "again")
    for (k, v), (_, w) in zip(a.inference_state_dict().items(), b.inference_state_dict().items()):
        assert torch.equal(v, w), k


def test_vae_trains_from_the_cli(idx_folder, tmp_path):
    assert cli(idx_folder, tmp_path / "vae", "--prior", "mixture10", model="vae", epochs=1) == 0
    assert load_model(tmp_path / "vae").model_name == "vae"


def test_a_run_killed_mid_epoch_resumes_from_the_last_full_epoch(idx_folder, tmp_path, monkeypatch):
    assert cli(idx_folder, tmp_path / "straight", epochs=3) == 0

    from aae_core.models.aae import AAE

    calls = {"n": 0}
    step = AAE.train_step

    def dying_step(self, x, opts):
        calls["n"] += 1
        if calls["n"] == 6 + 3:  # 6 steps per epoch: die inside the second epoch
            raise KeyboardInterrupt("killed")
        return step(self, x, opts)

    monkeypatch.setattr(AAE, "train_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        cli(idx_folder, tmp_path / "killed", epochs=3)
    ckpt = train.load_checkpoint(tmp_path / "killed" / "checkpoint.pt")
    assert int(ckpt["epoch"]) == 1  # the last full epoch, intact
    monkeypatch.setattr(AAE, "train_step", step)
    assert cli(idx_folder, tmp_path / "killed", epochs=3) == 0
    a, b = load_model(tmp_path / "straight"), load_model(tmp_path / "killed")
    for (k, v), (_, w) in zip(a.inference_state_dict().items(), b.inference_state_dict().items()):
        assert torch.equal(v, w), k
    history = json.loads((tmp_path / "killed" / "card.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]


def test_a_checkpoint_from_another_run_is_not_silently_reused(idx_folder, tmp_path, monkeypatch, capsys):
    from aae_core.models.aae import AAE

    step = AAE.train_step
    calls = {"n": 0}

    def dying_step(self, x, opts):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return step(self, x, opts)

    monkeypatch.setattr(AAE, "train_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        cli(idx_folder, tmp_path / "run", epochs=3)
    monkeypatch.setattr(AAE, "train_step", step)
    assert cli(idx_folder, tmp_path / "run", "--seed", "1", epochs=3) == 3
    assert "different run" in capsys.readouterr().err
    assert cli(idx_folder, tmp_path / "run", "--seed", "1", "--restart", epochs=1) == 0


def test_divergence_stops_with_a_clear_message_and_writes_nothing(idx_folder, tmp_path, capsys):
    rc = cli(idx_folder, tmp_path / "nan", "--set", "ae.lr=1e30", "--set", "g.lr=1e30", "--set", "d.lr=1e30", epochs=2)
    err = capsys.readouterr().err
    assert rc == train.DIVERGED and "diverged" in err and "learning rate" in err
    assert not (tmp_path / "nan" / "model.safetensors.xz").exists()
    stopped = json.loads((tmp_path / "nan" / "stopped.json").read_text())
    assert stopped["reason"] == "diverged" and stopped["epoch"] == 1 and stopped["history"] == []


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs must be >= 1"),
    (["--hidden", "a,b"], "--hidden expects"),
    (["--set", "nonsense"], "KEY=VALUE"),
    (["--set", "encoder_type=magic"], "encoder_type"),
    (["--prior-arg", "std=-2"], "std"),
])
def test_bad_arguments_are_explained(idx_folder, tmp_path, capsys, args, message):
    assert cli(idx_folder, tmp_path / "bad", *args) == 2
    assert message in capsys.readouterr().err


def test_missing_data_folder_is_explained(tmp_path, capsys):
    assert cli(tmp_path / "nowhere", tmp_path / "out") == 2
    assert "missing train-images-idx3-ubyte" in capsys.readouterr().err


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        train.parse_args(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--model", "--prior", "--latent-dim", "--epochs", "--seed", "--data", "--out"):
        assert option in text


def test_evaluate_cli_reproduces_the_card_and_scores_a_validation_slice(trained_dir, idx_folder, capsys):
    from aae_core import evaluate

    card = json.loads((trained_dir / "card.json").read_text())
    assert evaluate.main([str(trained_dir), "--data", str(idx_folder), "--dataset", "idx"]) == 0
    scores = json.loads(capsys.readouterr().out)
    for key, value in card["metrics"].items():
        assert scores[key] == pytest.approx(value, rel=1e-5), key
    assert evaluate.main([str(trained_dir), "--data", str(idx_folder), "--dataset", "idx", "--val", "200:300"]) == 0
    val = json.loads(capsys.readouterr().out)
    assert val["split"] == "train[200:300]" and set(val) == {"split", "recon_bce", "recon_mse", "prior_swd"}
    assert evaluate.main([str(trained_dir / "nope"), "--data", str(idx_folder)]) == 2


def test_a_time_budget_stops_after_the_epoch_that_uses_it_and_still_ships(idx_folder, tmp_path, monkeypatch):
    import aae_core.fit as fit_module  # the training loop's clock

    clock = {"t": 0.0}

    def fake_clock():  # every call advances 1 s: the budget runs out during epoch 2
        clock["t"] += 1.0
        return clock["t"]

    monkeypatch.setattr(fit_module.time, "perf_counter", fake_clock)
    out = tmp_path / "budget"
    assert cli(idx_folder, out, "--val-size", "100", "--select-every", "5", "--time-budget", "3", epochs=10) == 0
    card = load_model(out).card
    assert card["epochs"] == 10 and 1 <= card["epochs_done"] < 10
    assert [h["epoch"] for h in card["history"]] == list(range(1, card["epochs_done"] + 1))
    assert "val_score" in card["history"][-1]  # the last epoch was scored before stopping
    assert f"{card['epochs_done']} done (its time budget ran out)" in (out / "README.md").read_text()
    assert (out / "checkpoint.pt").exists()  # stopped, not finished: the same command resumes it
