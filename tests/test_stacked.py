"""Stacked training (issue 9, CPU core): N models at once = N runs of one, and each exports."""
import numpy as np
import pytest
import torch

from aae_core.models.aae import AAE, AAEConfig
from aae_core.recipes import PhaseOptim, Recipe, get_recipe
from aae_core.stacked import StackedAAE, StackedOptimizer

CONFIG = AAEConfig(hidden=(32, 32), disc_hidden=(16,), prior={"name": "mixture10"})


def recipes():
    """Three models, three recipes: Adam at two learning rates with a decay, and SGD for the adversaries."""
    base = get_recipe("adam-balanced")
    return [base.with_overrides({"ae.decay_at": [1], "input_noise": 0.3}),
            base.with_overrides({"g.lr": 3e-4, "disc_noise.d": 0.2, "init_std": 0.05}),
            Recipe(phases={"ae": PhaseOptim(lr=2e-3), "g": PhaseOptim(lr=1e-3), "d": PhaseOptim(lr=5e-4, betas=(0.5, 0.9))})]


def params(model: AAE) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("per_model_recipes", [True, False])
def test_n_stacked_models_train_as_n_runs_of_one(per_model_recipes):
    """Per-model recipes (the stack's own optimizer, in both) and seeds alone (torch's fused one)."""
    torch.manual_seed(123)
    x = torch.rand(60, 784)
    seeds = [0, 1, 2]
    rs = recipes() if per_model_recipes else [get_recipe("adam-balanced")] * 3
    stacked = StackedAAE(CONFIG, seeds, rs)
    assert all((opt.shared is None) == per_model_recipes for opt in stacked.opts.values())
    history = stacked.fit(x, epochs=2, batch_size=20)
    assert len(history) == 2 and len(history[0]["recon"]) == 3
    for i, (seed, recipe) in enumerate(zip(seeds, rs)):
        alone = StackedAAE(CONFIG, [seed], [recipe], use_torch_optimizers=not per_model_recipes)
        alone.fit(x, epochs=2, batch_size=20)
        a, b = params(stacked.export(i)), params(alone.export(0))
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=f"model {i}, {k}")
    # the three models really differ, and they all learned something
    w = [stacked.export(i).encoder[0].weight for i in range(3)]
    assert not torch.allclose(w[0], w[1]) and not torch.allclose(w[1], w[2])
    assert all(h1 < h0 for h0, h1 in zip(history[0]["recon"], history[1]["recon"]))


def test_a_model_starts_as_its_single_run_and_exports_as_an_ordinary_aae():
    stacked = StackedAAE(CONFIG, [7, 8], [get_recipe("adam-balanced")] * 2)
    torch.manual_seed(7)
    fresh = AAE(CONFIG)
    exported = stacked.export(0)
    for k, v in params(fresh).items():
        torch.testing.assert_close(params(exported)[k], v)
    x = torch.rand(5, 784)
    z = stacked.encoder(torch.stack([x, x]))  # N×B×d
    torch.testing.assert_close(z[0], exported.encode(x), rtol=1e-5, atol=1e-6)
    assert isinstance(exported, AAE) and not exported.training


def _same_as_torch(specs: list[PhaseOptim], shape: tuple[int, ...], torch_opt, epochs: int = 2, steps: int = 2):
    """Run the stacked optimizer and one torch optimizer per model on the same gradients."""
    p = torch.nn.Parameter(torch.randn(len(specs), *shape))
    refs = [torch.nn.Parameter(p[i].detach().clone()) for i in range(len(specs))]
    stacked = StackedOptimizer([p], specs)
    opts = [torch_opt([r], s) for r, s in zip(refs, specs)]
    for epoch in range(epochs):
        stacked.set_epoch(epoch)
        for o, s in zip(opts, specs):
            o.param_groups[0]["lr"] = s.lr_at(epoch)
        for _ in range(steps):
            g = torch.randn_like(p)
            p.grad = g.clone()
            stacked.step()
            for i, (r, o) in enumerate(zip(refs, opts)):
                r.grad = g[i].clone()
                o.step()
    for i in range(len(specs)):
        torch.testing.assert_close(p[i].detach(), refs[i].detach(), rtol=1e-5, atol=1e-6)


def test_the_stacked_optimizer_is_torch_s_update_per_model():
    torch.manual_seed(0)
    _same_as_torch([PhaseOptim(lr=1e-2, betas=(0.5, 0.99), decay_at=(1,)), PhaseOptim(lr=3e-3)], (4, 3),
                   lambda ps, s: torch.optim.Adam(ps, lr=s.lr, betas=s.betas))
    _same_as_torch([PhaseOptim(kind="sgd", lr=0.1, momentum=0.9, decay_at=(1,)),
                    PhaseOptim(kind="sgd", lr=0.05, momentum=0.1)], (3,),
                   lambda ps, s: torch.optim.SGD(ps, lr=s.lr, momentum=s.momentum))


def test_what_stacking_does_not_support_yet_is_refused_by_name():
    with pytest.raises(ValueError, match="deterministic encoder"):
        StackedAAE(AAEConfig(hidden=(8,), disc_hidden=(8,), encoder_type="gaussian"), [0], [get_recipe("adam")])
    with pytest.raises(ValueError, match="dropout"):
        StackedAAE(CONFIG, [0], [get_recipe("paper-sgd-cluster")])  # 20 % input dropout
    assert StackedAAE(CONFIG, [0], [get_recipe("paper-sgd")]).export(0).encoder[0].weight.std() < 0.02  # N(0, 0.01)
    with pytest.raises(ValueError, match="optimizer kind"):
        StackedAAE(CONFIG, [0, 1], [get_recipe("adam-balanced"), get_recipe("adam-balanced").with_overrides(
            {"d.kind": "sgd"})])


def test_a_sweep_trains_recipes_times_seeds_and_chooses_on_validation(idx_folder, tmp_path):
    import json

    from aae_core import sweep

    out = tmp_path / "sweep"
    rc = sweep.main(["--data", str(idx_folder), "--dataset", "idx", "--hidden", "16,16", "--recipes",
                     "adam-balanced,adam-musyoku", "--seeds", "0,1", "--epochs", "3", "--every", "2",
                     "--val-size", "100", "--batch-size", "50", "--out", str(out), "--prior", "mixture10"])
    assert rc == 0
    result = json.loads((out / "sweep.json").read_text())
    assert [(m["recipe"], m["seed"]) for m in result["models"]] == [
        ("adam-balanced", 0), ("adam-balanced", 1), ("adam-musyoku", 0), ("adam-musyoku", 1)]
    for m in result["models"]:
        assert [e for e, _ in m["curve"]] == [2, 3]  # every 2 epochs and the last
        assert m["best_score"] == min(v for _, v in m["curve"])
    rows = sweep.summary(result)
    chosen = min(rows, key=lambda r: rows[r]["mean"])
    text = (out / "table.md").read_text()
    assert f"`{chosen}` (chosen)" in text and "±" in text
    assert (out / "curves.png").stat().st_size > 1000
    # a recipe the stacked trainer cannot run yet is refused with its reason
    assert sweep.main(["--data", str(idx_folder), "--dataset", "idx", "--recipes", "paper-sgd-cluster", "--epochs", "1",
                       "--val-size", "100", "--out", str(tmp_path / "no")]) == 2


def test_the_device_run_trains_rows_in_a_budget_packs_bundles_and_unpacks_them(idx_folder, tmp_path, monkeypatch):
    """The GPU machine's one command, smoke-tested on the CPU with tiny data: rows trained within a
    budget, results packed within the return limits, unpacked safely, then picked as usual."""
    import json
    import tarfile

    from aae_core import device_run, shipped
    from aae_core.weights import load_model

    row = shipped.ShippedModel("toy", "aae", "a toy", "adam-balanced", 2, hidden=(16, 16), val_size=100,
                               compare=("adam-balanced", "adam-musyoku"))
    monkeypatch.setitem(shipped.SHIPPED, "toy", row)
    out, work, runs = tmp_path / "OUT", tmp_path / "work", tmp_path / "runs"
    rc = device_run.main(["train", "--rows", "toy", "--data", str(idx_folder), "--dataset", "idx", "--device", "cpu",
                          "--budget", "60", "--work", str(work), "--out", str(out)])
    assert rc == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["bundle-1.tar.xz", "device-log.json"] and len(files) <= 8
    assert all(p.stat().st_size <= 16 << 20 for p in out.iterdir())
    log = json.loads((out / "device-log.json").read_text())
    assert [r["outcome"] for r in log["runs"]] == ["finished", "finished"] and log["device"].startswith("CPU")
    assert device_run.main(["unpack", str(out / "bundle-1.tar.xz"), "--runs", str(runs)]) == 0
    assert load_model(runs / "toy--adam-musyoku").card["recipe_name"] == "adam-musyoku"
    assert not (runs / "toy--adam-musyoku" / "checkpoint.pt").exists()
    assert shipped.main(["pick", "toy", "--runs", str(runs), "--pretrained", str(tmp_path / "pretrained"),
                         "--data", str(idx_folder)]) == 0
    # a hostile bundle: a path out of runs/ is refused, nothing written
    evil = tmp_path / "evil.tar.xz"
    with tarfile.open(evil, "w:xz") as tar:
        info = tarfile.TarInfo("../outside.json")
        info.size = 2
        tar.addfile(info, __import__("io").BytesIO(b"{}"))
    assert device_run.main(["unpack", str(evil), "--runs", str(runs)]) == 2
    assert not (tmp_path / "outside.json").exists()
    # duplicates and names with a trailing newline are refused; a run folder is replaced whole
    for names in (["a--b/card.json", "a--b/card.json"], ["a--b\n/card.json"], ["a--b/card.json\n"]):
        bad = tmp_path / "bad.tar.xz"
        with tarfile.open(bad, "w:xz") as tar:
            for n in names:
                info = tarfile.TarInfo(n)
                info.size = 2
                tar.addfile(info, __import__("io").BytesIO(b"{}"))
        assert device_run.main(["unpack", str(bad), "--runs", str(runs)]) == 2, names
    (runs / "toy--adam-musyoku" / "checkpoint.pt").write_bytes(b"stale")
    assert device_run.main(["unpack", str(out / "bundle-1.tar.xz"), "--runs", str(runs)]) == 0
    assert not (runs / "toy--adam-musyoku" / "checkpoint.pt").exists()  # no stale state to resume over it
    # a run folder that is a link out of runs/ is refused, and nothing is written through it
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    import shutil
    shutil.rmtree(runs / "toy--adam-musyoku")
    (runs / "toy--adam-musyoku").symlink_to(outside, target_is_directory=True)
    assert device_run.main(["unpack", str(out / "bundle-1.tar.xz"), "--runs", str(runs)]) == 2
    assert list(outside.iterdir()) == []


def test_torchrun_shards_a_sweep_over_processes_with_the_same_result(idx_folder, tmp_path):
    """Two gloo processes train half the grid each: the curves equal one process's."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    args = ["--data", str(idx_folder), "--dataset", "idx", "--hidden", "16,16", "--recipes",
            "adam-balanced,adam-musyoku", "--seeds", "0,1", "--epochs", "2", "--val-size", "100",
            "--batch-size", "50", "--threads", "1"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    one = subprocess.run([sys.executable, "-m", "aae_core.sweep", *args, "--out", str(tmp_path / "one")],
                         cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port",
                          str(29500 + os.getpid() % 1000), "-m", "aae_core.sweep", *args, "--out", str(tmp_path / "two")],
                         cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-2000:]
    a = json.loads((tmp_path / "one" / "sweep.json").read_text())
    b = json.loads((tmp_path / "two" / "sweep.json").read_text())
    assert b["processes"] == 2 and a["processes"] == 1
    for ma, mb in zip(a["models"], b["models"]):
        assert (ma["recipe"], ma["seed"]) == (mb["recipe"], mb["seed"])
        assert np.allclose([v for _, v in ma["curve"]], [v for _, v in mb["curve"]], rtol=1e-4, atol=1e-6)


def test_a_sweep_survives_a_model_that_diverges(monkeypatch):
    """A model whose validation score is NaN is marked diverged, left out of its recipe's mean, and
    never chosen while a recipe has none."""
    from aae_core import sweep

    result = {"metric": "prior_swd", "epochs": 2, "every": 1, "models": [
        {"recipe": "a", "seed": 0, "best_score": None, "diverged": True, "curve": [[1, None], [2, None]]},
        {"recipe": "a", "seed": 1, "best_score": 0.1, "diverged": False, "curve": [[1, 0.1], [2, 0.2]]},
        {"recipe": "b", "seed": 0, "best_score": 0.3, "diverged": False, "curve": [[1, 0.3], [2, 0.4]]},
        {"recipe": "b", "seed": 1, "best_score": 0.5, "diverged": False, "curve": [[1, 0.5], [2, 0.6]]}]}
    rows = sweep.summary(result)
    assert rows["a"]["scores"] == [0.1] and rows["a"]["diverged"] == 1
    text = sweep.table(result)
    assert "`b` (chosen)" in text and "1 diverged" in text
