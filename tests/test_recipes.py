"""Training recipes: JSON round trips, optimizers per phase, step decays, per-discriminator noise."""
import json

import pytest
import torch

from aae_core.recipes import RECIPES, PhaseOptim, Recipe, get_recipe, recipe_for
from aae_core.registry import get_model_class, list_models
from aae_core.train import build_recipe

TINY = {"hidden": (8, 8)}


def tiny(name: str):
    cls = get_model_class(name)
    extra = {"disc_hidden": (8,)} if "disc_hidden" in cls.config_class.__dataclass_fields__ else {}
    return cls(cls.config_class(**TINY, **extra))


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_round_trips_through_json_and_rebuilds_its_optimizers(name):
    recipe = RECIPES[name]
    again = Recipe.from_dict(json.loads(json.dumps(recipe.to_dict())))
    assert again == recipe
    for family in list_models():
        model = tiny(family)
        mine = recipe_for(model, again)
        if not all(p in mine.phases or p.split("_")[0] in mine.phases for p in model.phase_parameters()):
            continue  # e.g. an adversarial recipe has no "vae" phase
        opts = mine.build_optimizers(model)
        assert set(opts) == set(model.phase_parameters())
        for phase, opt in opts.items():
            spec = mine.phase(phase)
            assert type(opt).__name__.lower() == spec.kind
            assert opt.param_groups[0]["lr"] == spec.lr
            if spec.kind == "sgd":
                assert opt.param_groups[0]["momentum"] == spec.momentum
            else:
                assert tuple(opt.param_groups[0]["betas"]) == spec.betas
            # the optimizer updates exactly the phase's parameters
            assert {id(p) for p in opt.param_groups[0]["params"]} == {id(p) for p in model.phase_parameters()[phase]}


def test_the_paper_recipe_has_its_own_settings_per_phase():
    paper = get_recipe("paper-sgd")
    assert (paper.phase("ae").lr, paper.phase("ae").momentum) == (0.01, 0.9)
    assert (paper.phase("xent").lr, paper.phase("xent").momentum) == (0.1, 0.9)
    for phase in ("g", "d", "d_y", "d_z"):
        assert (paper.phase(phase).kind, paper.phase(phase).lr, paper.phase(phase).momentum) == ("sgd", 0.1, 0.1)
    assert paper.init_std == 0.01 and paper.disc_noise == {}


def test_a_schedule_decays_at_the_stated_epochs():
    spec = PhaseOptim(kind="sgd", lr=0.1, decay_at=(50, 1000))
    assert [spec.lr_at(e) for e in (0, 49)] == [0.1, 0.1]
    assert spec.lr_at(50) == pytest.approx(0.01) and spec.lr_at(999) == pytest.approx(0.01)
    assert spec.lr_at(1000) == pytest.approx(0.001)
    model = tiny("aae")
    recipe = Recipe(phases={"ae": PhaseOptim(lr=1e-3, decay_at=(3,)), "g": spec, "d": PhaseOptim(lr=2e-4)})
    opts = recipe.build_optimizers(model)
    recipe.set_epoch(opts, 2)
    assert opts["ae"].param_groups[0]["lr"] == 1e-3
    recipe.set_epoch(opts, 3)
    assert opts["ae"].param_groups[0]["lr"] == pytest.approx(1e-4)
    assert opts["g"].param_groups[0]["lr"] == 0.1 and opts["d"].param_groups[0]["lr"] == 2e-4
    recipe.set_epoch(opts, 60)
    assert opts["g"].param_groups[0]["lr"] == pytest.approx(0.01)


def test_the_early_decay_variants_differ_from_the_semi_recipe_only_in_when_rates_fall():
    base = get_recipe("paper-sgd-semi")
    for epoch in (10, 20):
        variant = get_recipe(f"paper-sgd-semi-decay{epoch}")
        assert variant.input_noise == base.input_noise and variant.init_std == base.init_std
        assert set(variant.phases) == set(base.phases)
        for name, spec in variant.phases.items():
            assert tuple(spec.decay_at) == (epoch, 1000)
            assert (spec.kind, spec.lr, spec.momentum) == (base.phases[name].kind, base.phases[name].lr,
                                                           base.phases[name].momentum)
            assert spec.lr_at(epoch - 1) == spec.lr and spec.lr_at(epoch) == pytest.approx(spec.lr / 10)


def test_the_training_loop_applies_the_schedule():
    from aae_core.train import TrainSettings, train

    model = tiny("aae")
    recipe = Recipe(phases={"ae": PhaseOptim(lr=1e-3, decay_at=(1,)), "g": PhaseOptim(lr=1e-3), "d": PhaseOptim(lr=1e-3)})
    seen = []
    step = model.train_step

    def spy(batch, opts):
        seen.append(opts["ae"].param_groups[0]["lr"])
        return step(batch, opts)

    model.train_step = spy
    train(model, torch.rand(20, 784), TrainSettings(epochs=2, batch_size=10, recipe=recipe), progress=False, log=False)
    assert seen == [pytest.approx(1e-3)] * 2 + [pytest.approx(1e-4)] * 2


def _disc_inputs(model):
    """What each discriminator saw during one training step (captured by forward hooks)."""
    seen = {}
    for phase, module in (("d", "discriminator"), ("d_y", "disc_y"), ("d_z", "disc_z")):
        if hasattr(model, module):
            getattr(model, module).register_forward_hook(
                lambda m, inputs, out, phase=phase: seen.setdefault(phase, []).append(inputs[0].detach().clone()))
    return seen


def test_discriminator_noise_applies_where_set_and_nowhere_else():
    torch.manual_seed(0)
    model = tiny("semi-aae").train()
    recipe = recipe_for(model, get_recipe("adam-balanced")).with_overrides({"disc_noise.d_z": 0.5})
    model.use_recipe(recipe)
    opts = recipe.build_optimizers(model)
    seen = _disc_inputs(model)
    from tests.test_models import batch_for

    model.train_step(batch_for(model), opts)
    # d_y's real inputs are exact one-hot vectors: no noise reached them
    real_y = seen["d_y"][0]
    assert set(real_y.unique().tolist()) <= {0.0, 1.0} and torch.equal(real_y.sum(1), torch.ones(len(real_y)))
    # d_z saw prior samples with noise: the noise of std 0.5 is there (N(0, 1) prior → std ≈ 1.118)
    assert model.disc_noise == {"d_z": 0.5}
    # d_z's real inputs were N(0, 1) prior samples plus noise of std 0.5: std √1.25 ≈ 1.118
    real_z = seen["d_z"][0]
    assert real_z.std().item() == pytest.approx(1.118, rel=0.15)
    assert model.for_discriminator("d_y", torch.zeros(1000, 3)).abs().max() == 0
    assert model.for_discriminator("d_z", torch.zeros(1000, 3)).std().item() == pytest.approx(0.5, rel=0.1)


def test_a_setting_for_a_phase_the_model_lacks_is_refused():
    aae = get_model_class("aae")
    with pytest.raises(ValueError, match="no training phase 'gen'"):
        build_recipe(aae, "adam-balanced", {"gen.lr": 5e-5})
    with pytest.raises(ValueError, match="no training phase 'xent'"):
        build_recipe(aae, "adam-balanced", {"xent.lr": 5e-5})
    semi = get_model_class("semi-aae")
    assert build_recipe(semi, "adam-balanced", {"d.lr": 2e-4}).phase("d_z").lr == 2e-4  # "d" sets d_y and d_z
    assert build_recipe(semi, "adam-balanced", {"d_y.lr": 3e-4}).phase("d_y").lr == 3e-4
    with pytest.raises(ValueError, match="no optimizer for phase 'vae'"):
        build_recipe(get_model_class("vae"), "adam-balanced", {})


def test_every_model_declares_its_phases():
    for name in list_models():
        model = tiny(name)
        assert set(model.phase_parameters()) <= set(type(model).phases), name
        assert set(type(model).discriminator_phases) <= set(type(model).phases), name


def test_noise_for_a_discriminator_the_model_lacks_is_refused():
    with pytest.raises(ValueError, match="discriminators are"):
        build_recipe(get_model_class("aae"), "adam-balanced", {"disc_noise.d_y": 0.3})
    with pytest.raises(ValueError, match="discriminators are"):
        get_recipe("adam-balanced").with_overrides({"disc_noise.d_q": 0.1}).build_optimizers(tiny("aae"))
    # a named recipe that sets every kind of discriminator is kept to the model's own
    assert build_recipe(get_model_class("aae"), "adam-legacy", {}).disc_noise == {"d": 0.3}
    assert build_recipe(get_model_class("semi-aae"), "adam-legacy", {}).disc_noise == {"d_y": 0.3, "d_z": 0.3}


def test_encoder_input_noise_and_dropout_act_in_training_only():
    model = tiny("semi-aae")
    model.use_recipe(Recipe(phases={"ae": PhaseOptim()}, input_noise=0.3, input_dropout=0.5, hidden_dropout=0.2))
    x = torch.full((500, 784), 0.5)
    model.train()
    seen = model._encoder_input(x)
    assert (seen == 0).float().mean().item() == pytest.approx(0.5, abs=0.02)  # dropout
    assert seen[seen != 0].std().item() > 0.5  # noise (×2 dropout scaling of 0.3)
    assert model.encoder.dropout == 0.2 and model.decoder.dropout == 0.2
    model.eval()
    assert torch.equal(model._encoder_input(x), x)
    assert torch.equal(model.encode(x[:3]), model.encode(x[:3]))


def test_hidden_dropout_keeps_the_weights_format():
    model = tiny("aae")
    keys = set(model.state_dict())
    model.use_recipe(Recipe(phases={"ae": PhaseOptim()}, hidden_dropout=0.5))
    assert set(model.state_dict()) == keys
    model.train()
    x = torch.rand(4, 784)
    assert not torch.equal(model.encoder(x), model.encoder(x))  # dropout is on in training
    model.eval()
    assert torch.equal(model.encoder(x), model.encoder(x))


def test_init_std_draws_every_weight_from_the_stated_normal():
    model = tiny("aae")
    Recipe(phases={"ae": PhaseOptim()}, init_std=0.01).initialise(model, torch.Generator().manual_seed(0))
    weights = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, torch.nn.Linear)])
    assert weights.std().item() == pytest.approx(0.01, rel=0.05)
    assert all(m.bias.abs().max() == 0 for m in model.modules() if isinstance(m, torch.nn.Linear))


@pytest.mark.parametrize("bad, message", [
    ({"phases": {}}, "non-empty"),
    ({"phases": {"ae": {"kind": "rmsprop"}}}, "kind"),
    ({"phases": {"ae": {"lr": 0}}}, "lr"),
    ({"phases": {"ae": {"momentum": 1.5}}}, "momentum"),
    ({"phases": {"ae": {"decay_at": [50, 10]}}}, "decay_at"),
    ({"phases": {"ae": {}}, "input_dropout": 1.0}, "input_dropout"),
    ({"phases": {"ae": {}}, "disc_noise": {"d": -1}}, "disc_noise.d"),
    ({"phases": {"ae": {"typo": 1}}}, "bad recipe"),
    ({"phases": {"ae": {}}, "optimizer": "x"}, "no field"),
    ([1, 2], "JSON object"),
])
def test_bad_recipes_get_clear_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        Recipe.from_dict(bad)


def test_overrides_name_what_they_change():
    r = get_recipe("paper-sgd").with_overrides({"g.lr": 0.05, "ae.decay_at": [10], "input_noise": 0.3})
    assert r.phase("g").lr == 0.05 and r.phase("ae").decay_at == (10,) and r.input_noise == 0.3
    assert r.phase("d").lr == 0.1  # untouched
    with pytest.raises(ValueError, match="unknown recipe setting"):
        get_recipe("paper-sgd").with_overrides({"g.learning_rate": 1})
    with pytest.raises(ValueError, match="unknown recipe"):
        get_recipe("nope")


# -- the table of shipped models ----------------------------------------------------------------
def test_every_shipped_row_builds_a_valid_training_run():
    from aae_core.shipped import SHIPPED
    from aae_core.train import build_config, parse_args

    for row in SHIPPED.values():
        for recipe in row.recipes:
            args = parse_args(row.train_args("DATA", f"runs/{row.name}--{recipe}", recipe))
            cls, config, built = build_config(args)  # refuses unknown fields, recipes and settings
            assert cls.model_name == row.family and args.recipe == recipe
            assert args.weights == ("float32" if row.fewest_bits else "int8")  # float weights for ship to round once
            model = cls(config)
            opts = built.build_optimizers(model)  # every phase of the model gets its optimizer
            assert set(opts) == set(model.phase_parameters()) == set(cls.phases) - (
                set() if model.training_labels == "pool" else {"xent"})


def test_the_table_and_pretrained_name_the_same_models():
    import aae_core
    from aae_core.shipped import SHIPPED

    assert set(SHIPPED) == set(aae_core.list_pretrained())
    for name, row in SHIPPED.items():
        card = aae_core.load_pretrained(name).card
        assert card["model"] == row.family and card["weights_dtype"] in ("int8", "float16", "int7", "int6")
        # the card's recipe is the named recipe the table gives for the model (kept to its discriminators)
        assert card["recipe_name"] == row.recipe, name  # the table names the recipe that shipped
        cls = get_model_class(row.family)
        assert card["recipe"] == recipe_for(cls, get_recipe(card["recipe_name"])).to_dict(), name


def test_pick_ships_the_run_with_the_best_validation_score(trained_dir, tmp_path, monkeypatch):
    """Two finished runs of one row: the one with the lower validation score ships, with both scores."""
    from aae_core import shipped
    from aae_core.weights import load_codes, load_model, read_json, save_model

    row = shipped.ShippedModel("toy", "aae", "a toy", "adam-balanced", 2, compare=("adam-balanced", "paper-sgd"))
    monkeypatch.setitem(shipped.SHIPPED, "toy", row)
    runs, pretrained = tmp_path / "runs", tmp_path / "pretrained"
    model = load_model(trained_dir)
    for recipe, score in (("adam-balanced", 0.9), ("paper-sgd", 0.4)):
        card = dict(read_json(trained_dir / "card.json"), selection={"score": score, "epoch": 1})
        save_model(model, runs / f"toy--{recipe}", card=card, dtype="int8",
                   codes=load_codes(trained_dir))
    assert shipped.main(["pick", "toy", "--runs", str(runs), "--pretrained", str(pretrained)]) == 0
    card = load_model(pretrained / "toy").card
    assert card["recipe_name"] == "paper-sgd" and card["name"] == "toy"
    assert {r: v["validation_score"] for r, v in card["recipes_compared"].items()} == {"adam-balanced": 0.9, "paper-sgd": 0.4}


def test_pick_records_a_run_that_diverged(trained_dir, tmp_path, monkeypatch):
    """A recipe whose run stopped on a NaN is on the card with the epochs it did, and never ships."""
    from aae_core import shipped, train
    from aae_core.weights import load_codes, load_model, read_json, save_model

    row = shipped.ShippedModel("toy", "aae", "a toy", "adam-balanced", 3, compare=("adam-balanced", "paper-sgd"))
    monkeypatch.setitem(shipped.SHIPPED, "toy", row)
    runs, pretrained = tmp_path / "runs", tmp_path / "pretrained"
    (runs / "toy--paper-sgd").mkdir(parents=True)
    save_model(load_model(trained_dir), runs / "toy--adam-balanced", dtype="int8", codes=load_codes(trained_dir),
               card=dict(read_json(trained_dir / "card.json"), selection={"score": 0.9, "epoch": 1}))
    # a run that stopped after one epoch (a NaN in the next): its checkpoint holds that epoch's log
    model = tiny("aae")
    train.train(model, torch.rand(40, 784), train.TrainSettings(epochs=1, batch_size=20, select_every=1),
                out=(runs / "toy--paper-sgd"), progress=False, log=False, select=lambda m: {"score": 2.5})
    assert (runs / "toy--paper-sgd" / "checkpoint.pt").exists()
    (runs / "toy--paper-sgd" / train.STOPPED).write_text('{"reason": "diverged", "epoch": 2}')
    assert shipped.main(["pick", "toy", "--runs", str(runs), "--pretrained", str(pretrained)]) == 0
    card = load_model(pretrained / "toy").card
    assert card["recipe_name"] == "adam-balanced"
    assert card["recipes_compared"]["paper-sgd"]["unfinished"] == "diverged in epoch 2 of 3 (a loss became NaN), after 1 full epoch"
    assert card["recipes_compared"]["paper-sgd"]["curve"] == [[1, 2.5]]
    assert "diverged" in (pretrained / "toy" / "README.md").read_text()


def test_curves_draw_every_compared_recipe_and_mark_the_shipped_epoch():
    from PIL import ImageColor

    from aae_core.curves import COLORS, panel

    card = {"recipe_name": "paper-sgd", "selected_epoch": 3, "selection_metric": "prior_swd",
            "recipes_compared": {"adam-balanced": {"curve": [[1, 2.0], [2, 1.5], [3, 1.8], [4, 1.7]]},
                                 "paper-sgd": {"curve": [[1, 3.0], [2, 1.0], [3, 0.5], [4, 0.6]]}}}
    img = panel("toy", card)
    colors = {c for _, c in img.getcolors(1 << 20)}
    assert ImageColor.getrgb(COLORS[0]) in colors and ImageColor.getrgb(COLORS[1]) in colors
    assert (0, 0, 0) in colors  # the shipped epoch's ring


def test_train_rows_skips_finished_and_diverged_runs_and_only_fails_on_real_failures(tmp_path, monkeypatch):
    from aae_core import shipped, train

    row = shipped.ShippedModel("toy", "aae", "a toy", "adam-balanced", 2, compare=("adam-balanced", "paper-sgd", "adam"))
    monkeypatch.setitem(shipped.SHIPPED, "toy", row)
    runs = tmp_path / "runs"
    (runs / "toy--paper-sgd").mkdir(parents=True)
    (runs / "toy--paper-sgd" / train.STOPPED).write_text('{"reason": "diverged", "epoch": 1}')
    (runs / "toy--adam").mkdir()
    (runs / "toy--adam" / "card.json").write_text("{}")
    started = []
    monkeypatch.setattr(shipped.subprocess, "call", lambda cmd, cwd: started.append(cmd[cmd.index("--out") + 1]) or train.DIVERGED)
    assert shipped.train_rows(["toy"], "DATA", runs, jobs=1) == 0  # a divergence is an outcome
    assert started == [str(runs / "toy--adam-balanced")]  # the finished and the diverged runs are not rerun
    monkeypatch.setattr(shipped.subprocess, "call", lambda cmd, cwd: -9)  # killed by a signal
    assert shipped.train_rows(["toy"], "DATA", runs, jobs=1) == -9
