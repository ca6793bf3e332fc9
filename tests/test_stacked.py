"""Stacked training (issue 9, CPU core): N models at once = N runs of one, and each exports."""
import numpy as np
import pytest
import torch

from aae_core.models.aae import AAE, AAEConfig
from aae_core.recipes import PhaseOptim, Recipe, get_recipe
from aae_core.models.categorical import CategoricalAAEConfig
from aae_core.models.cluster_aae import ClusteringAAEConfig
from aae_core.models.dimred_aae import DimReductionAAEConfig
from aae_core.models.label_aae import LabelAAEConfig
from aae_core.models.supervised_aae import SupervisedAAEConfig
from aae_core.stacked import StackedAAE, StackedOptimizer
from aae_core.stacked_categorical import StackedCategoricalAAE
from aae_core.stacked_labelled import StackedLabelledAAE

CONFIG = AAEConfig(hidden=(32, 32), disc_hidden=(16,), prior={"name": "mixture10"})
CAT = CategoricalAAEConfig(hidden=(32, 32), disc_hidden=(16,), latent_dim=4)
CLUSTER = ClusteringAAEConfig(hidden=(32, 32), disc_hidden=(16,), latent_dim=4, n_classes=16)
DIMRED = DimReductionAAEConfig(hidden=(32, 32), disc_hidden=(16,), n_classes=12, head_margin=3.0)
LABEL = LabelAAEConfig(hidden=(32, 32), disc_hidden=(16,))  # the mixture of 10 Gaussians, one per digit
SUPERVISED = SupervisedAAEConfig(hidden=(32, 32), disc_hidden=(16,), latent_dim=3)


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


def assert_same_weights(a, b, what: str) -> None:
    a, b = params(a), params(b)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=f"{what}, {k}")


def test_stacked_semi_supervised_models_with_their_own_labelled_pools_train_as_runs_of_one():
    """One stack holds three label counts (pools of 10, 30 and all 90 labelled images) with per-model
    recipes (learning rates, input noise, discriminator noise): each model = its run alone."""
    torch.manual_seed(5)
    x, y = torch.rand(90, 784), torch.randint(10, (90,))
    pools = [torch.arange(10), torch.arange(30, 60), torch.arange(90)]
    base = get_recipe("paper-sgd-semi")
    rs = [base, base.with_overrides({"xent.lr": 0.05, "disc_noise.d_y": 0.2}),
          base.with_overrides({"ae.lr": 0.02, "input_noise": 0.1, "disc_noise.d_z": 0.3})]
    stack = StackedCategoricalAAE("semi-aae", CAT, [0, 1, 2], rs, pools=pools, labels=y)
    history = stack.fit(x, epochs=2, batch_size=30)
    assert set(history[-1]) == {"recon", "d_y", "d_z", "g", "xent"}
    for i in range(3):
        alone = StackedCategoricalAAE("semi-aae", CAT, [i], [rs[i]], pools=[pools[i]], labels=y)
        alone.fit(x, epochs=2, batch_size=30)
        assert_same_weights(stack.export(i), alone.export(0), f"model {i}")
    probs = stack.export(2).classify(x[:4])  # an ordinary SemiSupervisedAAE
    torch.testing.assert_close(probs.sum(1), torch.ones(4))


def test_stacked_clustering_models_with_input_dropout_train_as_runs_of_one():
    torch.manual_seed(6)
    x = torch.rand(60, 784)
    rs = [get_recipe("paper-sgd-cluster"), get_recipe("paper-sgd-cluster").with_overrides({"input_dropout": 0.5})]
    stack = StackedCategoricalAAE("cluster-aae", CLUSTER, [3, 4], rs)
    assert set(stack.fit(x, epochs=2, batch_size=20)[-1]) == {"recon", "d_y", "d_z", "g"}
    for i in range(2):
        alone = StackedCategoricalAAE("cluster-aae", CLUSTER, [3 + i], [rs[i]])
        alone.fit(x, epochs=2, batch_size=20)
        assert_same_weights(stack.export(i), alone.export(0), f"model {i}")
    assert stack.export(1).cluster_heads().shape == (16, 784)


def test_stacked_dimensionality_reduction_models_train_as_runs_of_one_heads_included():
    """The dimred AAE's stack: the decoder reads W·y + z, the heads W train in the reconstruction
    phase with their distance penalty; one model with a labelled pool, one without (recipes differ)."""
    torch.manual_seed(8)
    x, y = torch.rand(60, 784), torch.randint(12, (60,))
    rs = [get_recipe("adam-balanced"), get_recipe("adam-balanced").with_overrides({"ae.lr": 3e-3, "disc_noise.d_z": 0.2})]
    for pools in ([torch.arange(20), torch.arange(10, 60)], None):
        extra = dict(pools=pools, labels=y) if pools is not None else {}
        stack = StackedCategoricalAAE("dimred-aae", DIMRED, [1, 2], rs, **extra)
        before = stack.heads.weight.detach().clone()  # N×2×K
        assert set(stack.fit(x, epochs=2, batch_size=20)[-1]) == {"recon", "d_y", "d_z", "g"} | (
            {"xent"} if pools is not None else set())
        assert not torch.equal(before, stack.heads.weight)  # the heads learn
        for i in range(2):
            alone = StackedCategoricalAAE("dimred-aae", DIMRED, [1 + i], [rs[i]],
                                          **(dict(pools=[pools[i]], labels=y) if pools is not None else {}))
            alone.fit(x, epochs=2, batch_size=20)
            assert_same_weights(stack.export(i), alone.export(0), f"model {i}")
    model = stack.export(1)  # an ordinary DimReductionAAE, its heads where the stack left them
    torch.testing.assert_close(model.head_positions(), stack.heads.weight[1].t().detach())
    assert model.encode(x[:3]).shape == (3, 2)


def test_stacked_label_aware_aaes_train_as_runs_of_one_each_with_its_own_labels():
    """The label-conditioned AAE (each model its own labelled share, the rest −1; the discriminator
    told the prior sample's component) and the supervised AAE (the decoder reads the label)."""
    torch.manual_seed(10)
    x, y = torch.rand(60, 784), torch.randint(10, (60,))
    rs = [get_recipe("adam-balanced"), get_recipe("adam-balanced").with_overrides({"g.lr": 3e-4, "disc_noise.d": 0.2})]
    partial = torch.stack([torch.where(torch.arange(60) < 20, y, -1), torch.where(torch.arange(60) % 2 == 0, y, -1)])
    for family, config, labels in (("label-aae", LABEL, partial), ("supervised-aae", SUPERVISED, y)):
        stack = StackedLabelledAAE(family, config, [4, 5], rs, labels)
        assert set(stack.fit(x, epochs=2, batch_size=20)[-1]) == {"recon", "d", "g"}
        for i in range(2):
            alone = StackedLabelledAAE(family, config, [4 + i], [rs[i]], labels[i] if labels.dim() == 2 else labels)
            alone.fit(x, epochs=2, batch_size=20)
            assert_same_weights(stack.export(i), alone.export(0), f"{family}, model {i}")
    assert stack.export(0).decode(torch.zeros(2, 3), labels=torch.tensor([1, 7])).shape == (2, 784)
    with pytest.raises(ValueError, match="every training image"):
        StackedLabelledAAE("supervised-aae", SUPERVISED, [0], [rs[0]], partial[0])
    with pytest.raises(ValueError, match="one label vector"):
        StackedLabelledAAE("label-aae", LABEL, [0, 1, 2], [rs[0]] * 3, partial)


@pytest.mark.parametrize("family", ["aae", "semi-aae", "cluster-aae", "dimred-aae", "label-aae", "supervised-aae"])
def test_one_stacked_step_is_the_model_s_own_step(family):
    """The stack's step is the family's own ``train_step`` (every phase, noise included): one model,
    the same seed for the global stream and the stack's generator, one step each, same weights."""
    from aae_core.models.base import Batch

    torch.manual_seed(9)
    x, y = torch.rand(20, 784), torch.randint(10, (20,))
    pool = torch.arange(0, 20, 2)
    noisy = get_recipe("adam-legacy").with_overrides({"input_noise": 0.2})  # noise on every input, Adam
    partial = torch.where(torch.arange(20) % 3 == 0, y, -1)  # the label-conditioned AAE: a third labelled
    if family == "aae":
        stack = StackedAAE(CONFIG, [11], [noisy])
    elif family in ("label-aae", "supervised-aae"):
        stack = StackedLabelledAAE(family, LABEL if family == "label-aae" else SUPERVISED, [11], [noisy],
                                   partial if family == "label-aae" else y)
    else:
        extra = dict(pools=[pool], labels=y) if family in ("semi-aae", "dimred-aae") else {}
        config = {"semi-aae": CAT, "cluster-aae": CLUSTER, "dimred-aae": DIMRED}[family]
        stack = StackedCategoricalAAE(family, config, [11], [noisy], **extra)
    model = stack.export(0).train()
    recipe = stack.recipes[0]
    model.use_recipe(recipe)
    opts = recipe.build_optimizers(model)
    torch.manual_seed(11)  # the model's global stream = the stack's generator (seed 11), draw for draw
    batch = Batch(x=x, y={"label-aae": partial, "supervised-aae": y}.get(family))
    if family in ("semi-aae", "dimred-aae"):
        lab = pool[torch.randint(len(pool), (20,))]
        batch.x_lab, batch.y_lab = x[lab], y[lab]
    ours = model.train_step(batch, opts)
    theirs = stack.train_step(x[None], stack._labelled_batch(x, 20), stack._batch_labels(torch.arange(20)[None]))
    for k, v in ours.items():
        torch.testing.assert_close(theirs[k][0], v, rtol=1e-4, atol=1e-5, msg=k)
    assert_same_weights(stack.export(0), model, family)


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


def _same_as_torch(specs: list[PhaseOptim], shape: tuple[int, ...], torch_opt, epochs: int = 2, steps: int = 2,
                   graph: bool = False):
    """Run the stacked optimizer and one torch optimizer per model on the same gradients."""
    p = torch.nn.Parameter(torch.randn(len(specs), *shape))
    refs = [torch.nn.Parameter(p[i].detach().clone()) for i in range(len(specs))]
    stacked = StackedOptimizer([p], specs, graph=graph)
    assert (stacked.shared is not None) == (graph and len(set(specs)) == 1)
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


def test_the_graph_safe_shared_optimizer_is_torch_s_update_per_model():
    """Seeds alone on the CUDA path: torch's fused optimizer with a device-tensor learning rate that
    the step decay changes in place (here on the CPU)."""
    torch.manual_seed(1)
    for spec, build in ((PhaseOptim(kind="sgd", lr=0.1, momentum=0.9, decay_at=(1,)),
                         lambda ps, s: torch.optim.SGD(ps, lr=s.lr, momentum=s.momentum)),
                        (PhaseOptim(lr=1e-2, betas=(0.5, 0.99), decay_at=(1,)),
                         lambda ps, s: torch.optim.Adam(ps, lr=s.lr, betas=s.betas))):
        _same_as_torch([spec, spec], (3, 2), build, epochs=3, graph=True)


def test_the_stacked_mlp_applies_hidden_dropout_after_every_hidden_relu_as_the_mlp_does():
    """The same masks through the stacked forward and through each model's own MLP, layer by layer."""
    torch.manual_seed(0)
    models = [AAE(CONFIG) for _ in range(2)]
    stack = StackedAAE(CONFIG, [0, 1], [get_recipe("adam-balanced")] * 2).encoder
    for i, m in enumerate(models):
        stack.import_from(i, m.encoder)
    x = torch.rand(2, 5, 784)
    masks = [(torch.rand(2, 5, 32) > 0.5).float() * 2 for _ in range(2)]  # one per hidden layer
    it = iter(masks)
    out = stack(x, lambda h: h * next(it))  # N×B×d
    for i, m in enumerate(models):
        linears = [l for l in m.encoder if isinstance(l, torch.nn.Linear)]
        h = x[i]
        for k, layer in enumerate(linears):
            h = layer(h)
            if k < len(linears) - 1:
                h = torch.relu(h) * masks[k][i]
        torch.testing.assert_close(out[i], h)
    assert not torch.allclose(out, stack(x))  # the masks mattered


def test_hidden_dropout_in_a_stack_leaves_the_models_without_it_untouched():
    """A model with hidden dropout stacked beside one without: the one without trains exactly as
    alone (its generator draws nothing for the other's masks), the one with it differently."""
    torch.manual_seed(2)
    x = torch.rand(40, 784)
    plain, drop = get_recipe("adam-balanced"), get_recipe("adam-balanced").with_overrides({"hidden_dropout": 0.3})
    mixed = StackedAAE(CONFIG, [0, 0], [plain, drop], use_torch_optimizers=False)
    history = mixed.fit(x, epochs=2, batch_size=20)
    alone = StackedAAE(CONFIG, [0], [plain], use_torch_optimizers=False)
    alone.fit(x, epochs=2, batch_size=20)
    assert_same_weights(mixed.export(0), alone.export(0), "the model without dropout")
    assert not torch.allclose(mixed.export(1).encoder[0].weight, alone.export(0).encoder[0].weight)
    assert all(np.isfinite(v).all() for h in history for v in h.values())


def test_what_stacking_does_not_support_yet_is_refused_by_name():
    with pytest.raises(ValueError, match="deterministic encoder"):
        StackedAAE(AAEConfig(hidden=(8,), disc_hidden=(8,), encoder_type="gaussian"), [0], [get_recipe("adam")])
    with pytest.raises(ValueError, match="hidden dropout"):
        StackedCategoricalAAE("cluster-aae", CLUSTER, [0], [get_recipe("paper-sgd-cluster").with_overrides(
            {"hidden_dropout": 0.1})])
    with pytest.raises(ValueError, match="no optimizer for phase 'xent'"):  # the recipe must fit the family
        StackedCategoricalAAE("semi-aae", CAT, [0], [get_recipe("paper-sgd-cluster")])
    with pytest.raises(ValueError, match="without labels"):
        StackedCategoricalAAE("cluster-aae", CLUSTER, [0], [get_recipe("paper-sgd-cluster")],
                              pools=[torch.arange(3)], labels=torch.zeros(10, dtype=torch.long))
    with pytest.raises(ValueError, match="one non-empty labelled pool per model"):
        StackedCategoricalAAE("semi-aae", CAT, [0, 1], [get_recipe("paper-sgd-semi")] * 2,
                              pools=[torch.arange(3)], labels=torch.zeros(10, dtype=torch.long))
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
    # a recipe that does not fit the family is refused with its reason, and so are misplaced label counts
    common = ["--data", str(idx_folder), "--dataset", "idx", "--epochs", "1", "--val-size", "100", "--hidden", "16"]
    assert sweep.main(common + ["--family", "semi-aae", "--labels", "20", "--recipes", "paper-sgd-cluster",
                                "--out", str(tmp_path / "no")]) == 2
    assert sweep.main(common + ["--labels", "20", "--recipes", "adam-balanced", "--out", str(tmp_path / "no")]) == 2
    assert not (tmp_path / "no").exists()


def test_a_semi_supervised_sweep_stacks_label_counts_and_seeds_and_chooses_per_label_count(idx_folder, tmp_path):
    import json

    from aae_core import sweep

    from aae_core.weights import load_model

    out, runs = tmp_path / "semi", tmp_path / "runs"
    assert sweep.main(["--data", str(idx_folder), "--dataset", "idx", "--family", "semi-aae", "--labels", "20,all",
                       "--recipes", "paper-sgd-semi,adam-balanced", "--seeds", "0,1", "--epochs", "2", "--hidden",
                       "16,16", "--latent-dim", "3", "--val-size", "100", "--batch-size", "50", "--out", str(out),
                       "--runs", str(runs)]) == 0
    result = json.loads((out / "sweep.json").read_text())
    # every model as a complete weights folder at its best validation epoch, its card telling how it was made
    assert sorted(p.name for p in runs.iterdir()) == sorted(
        f"semi-aae-{n}--{r}-seed{s}" for r in ("paper-sgd-semi", "adam-balanced") for n in (20, "all") for s in (0, 1))
    card = json.loads((runs / "semi-aae-20--adam-balanced-seed1" / "card.json").read_text())
    entry = next(m for m in result["models"] if (m["recipe"], m["labels"], m["seed"]) == ("adam-balanced", 20, 1))
    assert card["seed"] == 1 and card["labels"] == 20 and card["label_seed"] == 1 and card["labelled"]
    assert card["selected_epoch"] == entry["best_epoch"] and card["selection"]["error"] == entry["best_score"]
    assert card["command"].startswith("python -m aae_core.sweep ") and "--runs" in card["command"]
    assert card["epochs_done"] == 2 and len(card["history"]) == 2 and 0 <= card["metrics"]["error"] <= 1
    assert json.loads((runs / "semi-aae-all--adam-balanced-seed0" / "card.json").read_text())["labels"] == 200
    model = load_model(runs / "semi-aae-20--adam-balanced-seed1")
    assert model.classify(torch.rand(2, 784)).shape == (2, 10)
    seeds_md = (out / "test.md").read_text()
    rows = [line for line in seeds_md.splitlines() if line.startswith("| `")]
    assert len(rows) == 4 and all(" ± " in r and "seed 0: " in r and "seed 1: " in r for r in rows)
    assert result["family"] == "semi-aae" and result["metric"] == "error"
    assert [(m["recipe"], m["labels"], m["seed"]) for m in result["models"]] == [
        (r, n, s) for r in ("paper-sgd-semi", "adam-balanced") for n in (20, "all") for s in (0, 1)]
    assert all(0 <= v <= 1 for m in result["models"] for _, v in m["curve"])  # classification errors
    winners = sweep.chosen(result)
    assert set(winners) == {20, "all"} and winners[20].endswith(", 20 labels") and winners["all"].endswith("all labels")
    assert (out / "table.md").read_text().count("(chosen)") == 2
    # the clustering AAE: errors by the majority rule, K clusters
    assert sweep.main(["--data", str(idx_folder), "--dataset", "idx", "--family", "cluster-aae", "--n-classes", "12",
                       "--recipes", "paper-sgd-cluster", "--seeds", "3", "--epochs", "4", "--every", "3", "--hidden",
                       "16", "--val-size", "100", "--batch-size", "50", "--time-budget", "1e-6", "--out",
                       str(tmp_path / "cl")]) == 0
    result = json.loads((tmp_path / "cl" / "sweep.json").read_text())
    assert result["metric"] == "cluster_error" and result["config"]["n_classes"] == 12
    assert [e for e, _ in result["models"][0]["curve"]] == [1]  # out of time after the first epoch, which is scored


def test_a_dimensionality_reduction_sweep_with_and_without_labels(idx_folder, tmp_path):
    """The dimred AAE in a sweep: with label counts (chosen by classification error, each seed a
    complete weights folder whose 2-D map reads W·y + z) and without (clusters: the majority-rule
    error); its own narrow style prior and 2-D map unless told otherwise."""
    import json

    from aae_core import sweep
    from aae_core.weights import load_model

    out, runs = tmp_path / "dimred", tmp_path / "runs"
    assert sweep.main(["--data", str(idx_folder), "--dataset", "idx", "--family", "dimred-aae", "--labels", "30",
                       "--recipes", "adam-balanced", "--seeds", "0,1", "--epochs", "2", "--hidden", "16,16",
                       "--val-size", "100", "--batch-size", "50", "--out", str(out), "--runs", str(runs)]) == 0
    result = json.loads((out / "sweep.json").read_text())
    assert result["metric"] == "error" and result["prefix"] == "dimred-aae"
    assert result["config"]["latent_dim"] == 2 and result["config"]["prior"]["std"] == 0.5
    model = load_model(runs / "dimred-aae-30--adam-balanced-seed1")
    assert model.encode(torch.rand(3, 784)).shape == (3, 2) and model.head_positions().shape == (10, 2)
    card = json.loads((runs / "dimred-aae-30--adam-balanced-seed1" / "card.json").read_text())
    assert card["labels"] == 30 and card["labelled"] and 0 <= card["metrics"]["error"] <= 1
    assert "seed 0: " in (out / "test.md").read_text()
    assert sweep.main(["--data", str(idx_folder), "--dataset", "idx", "--family", "dimred-aae", "--n-classes", "6",
                       "--recipes", "adam-balanced", "--seeds", "2", "--epochs", "1", "--hidden", "16",
                       "--val-size", "100", "--batch-size", "50", "--out", str(tmp_path / "clusters")]) == 0
    unlabelled = json.loads((tmp_path / "clusters" / "sweep.json").read_text())
    assert unlabelled["metric"] == "cluster_error" and unlabelled["config"]["n_classes"] == 6
    assert sweep.main(["--data", str(idx_folder), "--dataset", "idx", "--family", "semi-aae", "--recipes",
                       "adam-balanced", "--seeds", "0", "--epochs", "1", "--out", str(tmp_path / "x")]) == 2  # no labels


def test_label_aware_sweeps_give_each_seed_its_own_labelled_share(idx_folder, tmp_path):
    """The label-conditioned AAE swept over label counts (each seed its own labelled images, scored by
    the conditional prior distance, its own metric) and the supervised AAE (every label; reconstruction)."""
    import json

    from aae_core import sweep
    from aae_core.weights import load_model

    runs = tmp_path / "runs"
    assert sweep.main(["--data", str(idx_folder), "--dataset", "idx", "--family", "label-aae", "--prior", "mixture10",
                       "--labels", "40,all", "--recipes", "adam-balanced", "--seeds", "0,1", "--epochs", "2",
                       "--hidden", "16", "--val-size", "100", "--batch-size", "50", "--out", str(tmp_path / "lab"),
                       "--runs", str(runs)]) == 0
    result = json.loads((tmp_path / "lab" / "sweep.json").read_text())
    assert result["metric"] == "cond_prior_swd" and result["prefix"] == "label-aae-mixture10"
    assert [(m["labels"], m["seed"]) for m in result["models"]] == [(40, 0), (40, 1), ("all", 0), ("all", 1)]
    card = json.loads((runs / "label-aae-mixture10-40--adam-balanced-seed1" / "card.json").read_text())
    assert card["labels"] == 40 and card["label_seed"] == 1 and card["model"] == "label-aae"
    assert load_model(runs / "label-aae-mixture10-all--adam-balanced-seed0").encode(torch.rand(2, 784)).shape == (2, 2)
    config = sweep.family_config("label-aae", None, [8], "mixture10")
    stack = sweep.build_stack("label-aae", config, [("adam-balanced", 40, 0), ("adam-balanced", 40, 1)], "cpu",
                              torch.arange(200) % 10)
    assert config.n_classes == 10 and [int((v >= 0).sum()) for v in stack.ys] == [40, 40]
    assert not torch.equal(stack.ys[0], stack.ys[1])  # each seed draws its own labelled images
    assert sweep.main(["--data", str(idx_folder), "--dataset", "idx", "--family", "supervised-aae", "--labels", "all",
                       "--recipes", "adam-balanced", "--seeds", "3", "--epochs", "1", "--hidden", "16",
                       "--val-size", "100", "--batch-size", "50", "--out", str(tmp_path / "sup")]) == 0
    sup = json.loads((tmp_path / "sup" / "sweep.json").read_text())
    assert sup["metric"] == "recon_bce" and sup["config"]["prior"]["std"] == 1.0 and sup["prefix"] == "supervised-aae-2d"
    assert sweep.main(["--data", str(idx_folder), "--dataset", "idx", "--family", "supervised-aae", "--labels", "40",
                       "--recipes", "adam-balanced", "--seeds", "3", "--epochs", "1", "--out", str(tmp_path / "y")]) == 2


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


def test_a_second_device_command_packs_only_the_runs_it_wrote(tmp_path):
    """On a warm machine the work folder keeps the first command's runs: the second one's bundles carry
    its own runs only (the return limits are shared by every command)."""
    import os
    import tarfile
    import time

    from aae_core import device_run

    work, out = tmp_path / "work", tmp_path / "OUT"
    start = time.time() - 1  # the second command started
    for name in ("old--run", "new--run"):
        (work / name).mkdir(parents=True)
        (work / name / "card.json").write_text("{}")
        (work / name / "checkpoint.pt").write_bytes(b"never packed")
    os.utime(work / "old--run" / "card.json", (start - 600, start - 600))  # written by the first command
    (bundle,) = device_run.pack(work, out, since=start)
    with tarfile.open(bundle, "r:xz") as tar:
        assert tar.getnames() == ["new--run/card.json"]
    (bundle,) = device_run.pack(work, out)  # without ``since``: every run folder, as before
    with tarfile.open(bundle, "r:xz") as tar:
        assert sorted(tar.getnames()) == ["new--run/card.json", "old--run/card.json"]


def test_the_device_run_sweeps_seeds_in_a_budget_and_brings_home_every_card_and_the_seeds_to_ship(idx_folder, tmp_path):
    import json
    import tarfile

    from aae_core import device_run
    from aae_core.weights import load_model

    out, work, runs = tmp_path / "OUT", tmp_path / "work", tmp_path / "runs"
    small = "--hidden 16,16 --latent-dim 3 --val-size 100 --batch-size 50 --epochs 2"
    rc = device_run.main(["sweep", "--data", str(idx_folder), "--dataset", "idx", "--device", "cpu", "--budget", "120",
                          "--work", str(work), "--out", str(out),
                          "--sweep", f"--family semi-aae --labels 20,all --recipes paper-sgd-semi --seeds 0,1,2 {small}",
                          "--sweep", f"--family cluster-aae --n-classes 12 --recipes paper-sgd-cluster --seeds 4,5 {small}",
                          # the same family, recipe and seeds with another K: its folders must not overwrite
                          # (or, not shipped, delete) the 12-cluster sweep's (they did, in a GPU run)
                          "--sweep", f"--family cluster-aae --n-classes 8 --recipes paper-sgd-cluster --seeds 4,5 {small}"])
    assert rc == 0
    log = json.loads((out / "device-log.json").read_text())
    assert len(log["sweeps"]) == 3
    semi, cluster, cluster8 = log["runs"]
    assert semi["outcome"] == cluster["outcome"] == cluster8["outcome"] == "finished"
    assert len(semi["cards"]) == 6 and len(cluster["cards"]) == len(cluster8["cards"]) == 2  # every seed's numbers
    assert not set(cluster["cards"]) & set(cluster8["cards"])  # named apart: cluster-aae-12--… and cluster-aae-8--…
    assert all("error" in c["metrics"] and "history" not in c for c in semi["cards"].values())
    assert "± " in semi["tables"]["test.md"] and "(chosen)" in semi["tables"]["table.md"]
    assert len(semi["shipped"]) == 2 and len(cluster["shipped"]) == len(cluster8["shipped"]) == 1  # the median seed
    with tarfile.open(out / "bundle-1.tar.xz") as tar:
        folders = {m.name.split("/")[0] for m in tar.getmembers()}
    assert folders == set(semi["shipped"] + cluster["shipped"] + cluster8["shipped"])
    assert device_run.main(["unpack", str(out / "bundle-1.tar.xz"), "--runs", str(runs)]) == 0
    for entry, k in ((cluster, 12), (cluster8, 8)):
        assert entry["shipped"][0].startswith(f"cluster-aae-{k}--")
        assert load_model(runs / entry["shipped"][0]).config.n_classes == k
    model = load_model(runs / semi["shipped"][0])
    assert model.card["seed"] == semi["cards"][semi["shipped"][0]]["seed"]

    # ship it under a row's name, every seed's test numbers (from the log) with mean ± std on its card
    from aae_core import shipped
    run = runs / semi["shipped"][0]  # e.g. semi-aae-20--paper-sgd-semi-seed1
    shipped.adopt("semi-aae-100", run, str(idx_folder), tmp_path / "pretrained", out / "device-log.json")
    card = load_model(tmp_path / "pretrained" / "semi-aae-100").card
    stem = run.name.rsplit("-seed", 1)[0]
    errors = [c["metrics"]["error"] for n, c in semi["cards"].items() if n.rsplit("-seed", 1)[0] == stem]
    assert card["name"] == "semi-aae-100" and card["seeds"]["n"] == len(errors) == 3
    assert card["seeds"]["shipped_seed"] == model.card["seed"]
    assert card["seeds"]["mean"]["error"] == pytest.approx(float(np.mean(errors)))
    assert card["seeds"]["std"]["error"] == pytest.approx(float(np.std(errors, ddof=1)))
    with pytest.raises(ValueError, match="no finished run"):
        shipped.adopt("semi-aae-100", runs, str(idx_folder), tmp_path / "pretrained")
    with pytest.raises(ValueError, match="seed folder"):
        shipped.seed_cards(runs / "ae-2d--adam")


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


@pytest.mark.parametrize("family", ["aae", "semi-aae"])
def test_chunked_epochs_draw_ahead_and_still_train_as_runs_of_one(family):
    """The CUDA path's order of draws (a chunk's random numbers first, then its steps), run eagerly on
    the CPU: N stacked = N stacks of one, and the chunk's draws are really used (not the first's again)."""
    torch.manual_seed(8)
    x, y = torch.rand(120, 784), torch.randint(10, (120,))
    noisy = get_recipe("paper-sgd-semi").with_overrides({"disc_noise.d_z": 0.2}) if family == "semi-aae" \
        else recipes()[1]

    def build(seeds, **kw):
        if family == "aae":
            return StackedAAE(CONFIG, seeds, [noisy] * len(seeds), **kw)
        pools = [torch.arange(0, 40 * (i + 1)) for i in seeds]
        return StackedCategoricalAAE("semi-aae", CAT, seeds, [noisy] * len(seeds), pools=pools, labels=y, **kw)

    stack = build([0, 1], max_chunk=3)
    stack.fit(x, epochs=2, batch_size=20)  # 6 steps an epoch: 2 chunks of 3
    assert stack.tape.steps == 3 and stack.tape.slots
    for i in range(2):
        alone = build([i], max_chunk=3)
        alone.fit(x, epochs=2, batch_size=20)
        assert_same_weights(stack.export(i), alone.export(0), f"model {i}")
    # the same seeds one step per chunk: another order of draws, so other (equally trained) weights
    single = build([0, 1])
    single.fit(x, epochs=2, batch_size=20)
    assert not torch.allclose(single.export(0).encoder[0].weight, stack.export(0).encoder[0].weight)
    # every step of a chunk read its own slice of every slot
    for buf, _ in stack.tape.slots:
        assert not torch.equal(buf[:, 0], buf[:, 1])


def test_the_cuda_graph_path_is_refused_without_a_gpu_and_matches_eager_with_one():
    """On a GPU: a CUDA-graph stack (warm-up chunk, capture, replays) and an eager stack with the same
    chunks, in exact fp32, end with the same weights. Without one: refused by name."""
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA graphs need a CUDA device"):
            StackedAAE(CONFIG, [0], [get_recipe("adam-balanced")], cuda_graph=True)
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    x, y = torch.rand(400, 784, device="cuda"), torch.randint(10, (400,), device="cuda")
    rs = [get_recipe("paper-sgd-semi").with_overrides({"disc_noise.d_y": 0.1}), get_recipe("paper-sgd-semi")]
    pools = [torch.arange(50), torch.arange(400)]
    kw = dict(pools=pools, labels=y, device="cuda", max_chunk=4)
    graph = StackedCategoricalAAE("semi-aae", CAT, [0, 1], rs, cuda_graph=True, **kw)
    eager = StackedCategoricalAAE("semi-aae", CAT, [0, 1], rs, use_torch_optimizers=False, **kw)
    hg, he = graph.fit(x, epochs=3, batch_size=20), eager.fit(x, epochs=3, batch_size=20)
    assert graph.cuda_graph and graph._graph is not None  # captured, not fallen back
    for i in range(2):
        assert_same_weights(graph.export(i), eager.export(i), f"model {i}")
    np.testing.assert_allclose(hg[-1]["recon"], he[-1]["recon"], rtol=1e-4)
    # seeds alone: torch's fused optimizer, graph-safe, against its ordinary form eagerly
    same = [rs[1]] * 2
    graph = StackedCategoricalAAE("semi-aae", CAT, [0, 1], same, cuda_graph=True, **kw)
    eager = StackedCategoricalAAE("semi-aae", CAT, [0, 1], same, **kw)
    graph.fit(x, epochs=3, batch_size=20), eager.fit(x, epochs=3, batch_size=20)
    assert graph.opts["ae"].shared is not None and graph._graph is not None
    for i in range(2):
        assert_same_weights(graph.export(i), eager.export(i), f"model {i}, shared optimizer")


def test_a_model_whose_weights_turn_nan_scores_nan_and_is_not_saved(monkeypatch):
    """A clustering model with NaN weights still 'classifies' (argmax of NaN): the sweep must score
    it NaN (diverged), not choose it, and not try to evaluate or save it (seen on the GPU: the test
    evaluation's k-NN refused the NaN codes and the whole sweep was lost)."""
    from aae_core import sweep
    from aae_core.stacked import StackedTrainer

    real_epoch = StackedTrainer.train_epoch

    def poisoned(self, x, epoch, batch_size=100):
        out = real_epoch(self, x, epoch, batch_size)
        with torch.no_grad():
            self.encoder.weights[0][1].fill_(float("nan"))  # model 1 diverges in its first epoch
        return out

    monkeypatch.setattr(StackedTrainer, "train_epoch", poisoned)
    torch.manual_seed(0)
    x, y = torch.rand(80, 784), np.random.default_rng(0).integers(0, 10, 40)
    saved = []
    result = sweep.run_sweep(CLUSTER, ["paper-sgd-cluster"], [0, 1], x, torch.rand(40, 784), y, epochs=2,
                             batch_size=20, family="cluster-aae", save=lambda cell, *a: saved.append(cell))
    m0, m1 = result["models"]
    assert m1["diverged"] and m1["best_score"] is None and not m0["diverged"]
    assert saved == [("paper-sgd-cluster", None, 0)]


def test_a_sweep_continues_earlier_models_from_their_weights_folders(idx_folder, tmp_path):
    """--init-from: the grid entry with the folder's label count and seed starts from its encoder and
    decoder (the discriminators afresh), and the epochs count on from --start-epoch."""
    import json

    from aae_core import sweep
    from aae_core.weights import load_model

    small = ["--data", str(idx_folder), "--dataset", "idx", "--family", "semi-aae", "--labels", "20", "--recipes",
             "paper-sgd-semi", "--hidden", "16,16", "--latent-dim", "3", "--val-size", "100", "--batch-size", "50",
             "--every", "1"]
    assert sweep.main(small + ["--seeds", "0,1", "--epochs", "2", "--runs", str(tmp_path / "runs"),
                               "--out", str(tmp_path / "first")]) == 0
    first = load_model(tmp_path / "runs" / "semi-aae-20--paper-sgd-semi-seed0")
    # the stack's model 0 starts from it: its encoder and decoder exactly, its discriminators fresh
    cfg, rec = first.config, get_recipe("paper-sgd-semi")
    stack = StackedCategoricalAAE("semi-aae", cfg, [0, 1], [rec, rec], pools=[torch.arange(5)] * 2,
                                  labels=torch.zeros(10, dtype=torch.long))
    fresh_disc = stack.disc_y.weights[0][0].clone()
    assert stack.warm_start(0, first) == ["encoder", "decoder"]
    ours, theirs = stack.export(0).inference_state_dict(), first.inference_state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert torch.equal(stack.disc_y.weights[0][0], fresh_disc)
    assert not torch.equal(stack.export(1).encoder[0].weight, first.encoder[0].weight)  # model 1 untouched
    # through the CLI: epochs 3–4 of a run that had done 2
    assert sweep.main(small + ["--seeds", "0", "--epochs", "4", "--start-epoch", "2", "--init-from",
                               str(tmp_path / "runs" / "semi-aae-20--paper-sgd-semi-seed0"),
                               "--out", str(tmp_path / "second")]) == 0
    result = json.loads((tmp_path / "second" / "sweep.json").read_text())
    assert [e for e, _ in result["models"][0]["curve"]] == [3, 4] and result["start_epoch"] == 2
    # a folder whose label count and seed no grid entry has is refused by name
    assert sweep.main(small + ["--seeds", "5", "--epochs", "4", "--start-epoch", "2", "--init-from",
                               str(tmp_path / "runs" / "semi-aae-20--paper-sgd-semi-seed0"),
                               "--out", str(tmp_path / "third")]) == 2
    with pytest.raises(ValueError, match="family and config must match"):
        StackedAAE(CONFIG, [0], [get_recipe("adam-balanced")]).warm_start(0, first)
