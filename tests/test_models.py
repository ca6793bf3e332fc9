"""Sweep every registered model on tiny configs."""
import dataclasses

import pytest
import torch

from aae_core.models import Batch
from aae_core.recipes import RECIPES, get_recipe, recipe_for
from aae_core.registry import get_model_class, list_models, register_model

TINY = {"hidden": (16, 16)}
ADV = {"disc_hidden": (16,)}
# Extra config fields worth sweeping per family; a family not named here is swept with its own defaults.
FAMILY_CONFIGS = {
    "aae": [{"encoder_type": t, "prior": {"name": p}, **ADV}
            for t in ("deterministic", "gaussian", "universal") for p in ("gaussian", "mixture10")]
    + [{"arch": "conv", "channels": (4, 8), "batch_norm": bn, **ADV} for bn in (False, True)],
    "label-aae": [{"prior": {"name": "mixture10"}, **ADV}, {"prior": {"name": "swissroll"}, **ADV}],
    "supervised-aae": [{"latent_dim": 2, **ADV}, {"latent_dim": 5, **ADV}],
    "semi-aae": [{"latent_dim": 3, **ADV}, {"latent_dim": 3, "arch": "conv", "channels": (4, 8), **ADV}],
    "cluster-aae": [{"n_classes": 16, **ADV}, {"n_classes": 4, "latent_dim": 2, **ADV}],
    "dimred-aae": [{"n_classes": 10, **ADV}, {"n_classes": 20, **ADV}],
    "dae": [{"corruption": c, "corruption_level": 0.5} for c in ("mask", "salt-pepper", "gaussian")],
    "cae": [{"contractive_weight": 0.5}],
    "wae-mmd": [{"prior": {"name": "gaussian"}}, {"prior": {"name": "mixture10"}}],
    "wae-gan": [{"prior": {"name": "gaussian"}, **ADV}],
    "cvae": [{"latent_dim": 2}, {"latent_dim": 2, "prior": {"name": "mixture10"}}, {"latent_dim": 5},
             {"arch": "conv", "channels": (4, 8)}],
    "vae": [{"prior": {"name": "gaussian"}}, {"prior": {"name": "mixture10"}}, {"arch": "conv", "channels": (4, 8)}],
}


def tiny_config(cls, **extra):
    """The family's config with tiny widths (its discriminators' too, where it has any)."""
    adv = ADV if "disc_hidden" in {f.name for f in dataclasses.fields(cls.config_class)} else {}
    return cls.config_class(**{**TINY, **adv, **extra})


def tiny_configs():
    for name in list_models():
        cls = get_model_class(name)
        for extra in FAMILY_CONFIGS.get(name, [{}]):
            yield pytest.param(cls, tiny_config(cls, **extra), id=f"{name}-{'-'.join(map(str, extra.values()))}")


def batch_for(model, n: int = 16) -> Batch:
    """A batch with the labels the model's training uses (a third unlabelled where that is allowed)."""
    x, y = torch.rand(n, 784), torch.randint(10, (n,))
    if model.training_labels == "none":
        return Batch(x=x)
    if model.training_labels == "all":
        return Batch(x=x, y=y)
    partial = torch.where(torch.arange(n) % 3 == 0, -1, y)
    return Batch(x=x, y=partial, x_lab=x[:8], y_lab=y[:8] % model.n_classes)


def test_every_registered_model_is_swept():
    assert set(FAMILY_CONFIGS) <= set(list_models())  # no stale names
    assert {"aae", "vae", "label-aae", "supervised-aae", "semi-aae", "cluster-aae", "dimred-aae"} <= set(list_models())


def test_registry_refuses_duplicates_and_unknown_names():
    with pytest.raises(ValueError, match="already registered"):
        register_model("aae")(type("Other", (), {"config_class": object}))
    with pytest.raises(KeyError, match="known models"):
        get_model_class("nope")


def labels_for_decoding(model, n):
    return torch.arange(n) % model.n_classes if model.label_input else None


@pytest.mark.parametrize("cls, config", list(tiny_configs()))
def test_shapes_ranges_and_eval_determinism(cls, config):
    torch.manual_seed(0)
    model = cls(config).eval()
    x = torch.rand(7, 784)
    z = model.encode(x)
    assert z.shape == (7, model.latent_dim) and model.prior.dim == model.latent_dim
    assert torch.equal(z, model.encode(x))  # eval-mode encode is deterministic
    out = model.decode(z, labels_for_decoding(model, 7))
    assert out.shape == (7, 784) and out.min() >= 0 and out.max() <= 1
    assert model.sample(5).shape == (5, 784)
    if model.training_labels != "all":  # models that infer their own labels reconstruct from x alone
        assert model.reconstruct_logits(x).shape == (7, 784)
    assert model.categorical_code == hasattr(model, "class_probs")  # the capability is declared, not guessed
    if model.categorical_code:
        probs = model.class_probs(x)
        assert probs.shape == (7, model.n_classes)
        torch.testing.assert_close(probs.sum(1), torch.ones(7))


def optimizers(model, recipe_name=None):
    recipe = recipe_for(model, get_recipe(recipe_name or model.default_recipe))
    model.use_recipe(recipe)
    return recipe.build_optimizers(model)


@pytest.mark.parametrize("cls, config", list(tiny_configs()))
def test_one_training_step_changes_every_trained_parameter(cls, config):
    torch.manual_seed(0)
    model = cls(config).train()
    opts, moved = optimizers(model), set()
    for _ in range(3):  # a parameter two phases share can land back where it was (Adam's first steps are ±lr)
        before = {k: v.clone() for k, v in model.named_parameters()}
        losses = model.train_step(batch_for(model), opts)
        assert all(torch.isfinite(v) and v.dim() == 0 and not v.requires_grad for v in losses.values())
        moved |= {k for k, v in model.named_parameters() if not torch.equal(v, before[k])}
    assert [k for k, _ in model.named_parameters() if k not in moved] == []


@pytest.mark.parametrize("recipe", sorted(RECIPES))
@pytest.mark.parametrize("name", ["aae", "semi-aae", "vae"])
def test_every_recipe_trains_every_parameter(name, recipe):
    cls = get_model_class(name)
    torch.manual_seed(0)
    model = cls(cls.config_class(**TINY, **({} if name == "vae" else ADV))).train()
    before = {k: v.clone() for k, v in model.named_parameters()}
    missing = [p for p in model.phase_parameters() if p not in RECIPES[recipe].phases
               and p.split("_")[0] not in RECIPES[recipe].phases]
    if missing:  # a recipe for another kind of model is refused by name
        with pytest.raises(ValueError, match=f"no optimizer for phase '{missing[0]}'"):
            optimizers(model, recipe)
        return
    model.train_step(batch_for(model), optimizers(model, recipe))
    assert [k for k, v in model.named_parameters() if torch.equal(v, before[k])] == []


@pytest.mark.parametrize("name", [n for n in list_models() if get_model_class(n).label_input])
def test_conditional_models_refuse_a_missing_or_bad_label(name):
    cls = get_model_class(name)
    model = cls(tiny_config(cls)).eval()
    z = torch.zeros(3, model.latent_dim)
    with pytest.raises(ValueError, match="pass labels="):
        model.decode(z)
    with pytest.raises(ValueError, match=r"labels must be in 0\.\."):
        model.decode(z, torch.tensor([0, 1, model.n_classes]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        model.decode(z, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="probabilities must have shape"):
        model.decode(z, torch.rand(3, model.n_classes + 1))
    with pytest.raises(TypeError, match="int or a torch.Tensor"):
        model.decode(z, "seven")
    assert torch.equal(model.decode(z, 4), model.decode(z, torch.tensor([4, 4, 4])))
    assert torch.equal(model.decode(z, torch.tensor(4)), model.decode(z, 4))  # a 0-d label: for every code


@pytest.mark.parametrize("name", [n for n in list_models() if not get_model_class(n).label_input])
def test_unconditional_models_refuse_a_label(name):
    cls = get_model_class(name)
    model = cls(cls.config_class(**TINY)).eval()
    with pytest.raises(ValueError, match="takes no labels"):
        model.decode(torch.zeros(2, model.latent_dim), torch.tensor([1, 2]))


def test_supervised_decoder_writes_the_same_style_as_different_digits():
    cls = get_model_class("supervised-aae")
    model = cls(cls.config_class(**TINY, **ADV)).eval()
    z = torch.zeros(1, 2).repeat(10, 1)
    images = model.decode(z, torch.arange(10))
    assert len({tuple(img.round(decimals=5).tolist()) for img in images}) == 10  # the label changes the image
    with pytest.raises(ValueError, match="pass labels="):
        model.reconstruct_logits(torch.rand(2, 784))


def test_label_conditioned_discriminator_sees_component_label_or_unlabelled_slot():
    cls = get_model_class("label-aae")
    model = cls(cls.config_class(**TINY, **ADV))
    z = torch.zeros(4, 2)
    y = torch.tensor([3, -1, 7, -1])
    fake = model._disc_input(z, None, y)  # encoded images: their label, or the unlabelled slot 10
    real = model._disc_input(z, torch.tensor([5, 6, 7, 8]), y)  # prior samples: their component where labelled
    assert fake.shape == (4, 2 + 11)
    assert fake[:, 2:].argmax(1).tolist() == [3, 10, 7, 10]
    assert real[:, 2:].argmax(1).tolist() == [5, 10, 7, 10]
    assert model._disc_input(z, None, None)[:, 2:].argmax(1).tolist() == [10] * 4
    with pytest.raises(ValueError, match="one component per class"):
        cls.config_class(prior={"name": "gaussian"})


def test_clustering_and_dimred_extras():
    cls = get_model_class("cluster-aae")
    model = cls(cls.config_class(**TINY, n_classes=5, **ADV)).eval()
    assert model.cluster_heads().shape == (5, 784)
    assert not hasattr(model, "classify") and hasattr(get_model_class("semi-aae"), "classify")
    cls = get_model_class("dimred-aae")
    model = cls(cls.config_class(**TINY, n_classes=6, **ADV)).eval()
    x = torch.rand(5, 784)
    # the 2-D representation is W·q(y|x) + z
    logits, z = model._heads(x)
    torch.testing.assert_close(model.encode(x), logits.softmax(1) @ model.head_positions() + z)
    assert model.head_positions().shape == (6, 2)
    with pytest.raises(ValueError, match="latent_dim must be 2"):
        cls.config_class(latent_dim=3)


@pytest.mark.parametrize("name", list_models())
def test_bad_inputs_get_clear_errors(name):
    cls = get_model_class(name)
    model = cls(cls.config_class(**TINY)).eval()
    d = model.latent_dim
    with pytest.raises(ValueError, match=r"N×784"):
        model.encode(torch.rand(3, 28, 28))
    with pytest.raises(ValueError, match=rf"N×{d}"):
        model.decode(torch.rand(3, d + 3))
    with pytest.raises(ValueError, match="float"):
        model.encode(torch.zeros(3, 784, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model.decode([[0.0, 0.0]])


@pytest.mark.parametrize("fields, message", [
    ({"latent_dim": 0}, "latent_dim"),
    ({"hidden": (16, -1)}, "hidden"),
    ({"prior": {"name": "mixture10"}, "latent_dim": 3}, "2-D only"),
    ({"prior": {"name": "gaussian", "dim": 3}, "latent_dim": 2}, "dim 3 but latent_dim is 2"),
])
def test_configs_validate_their_fields(fields, message):
    for name in list_models():
        cls = get_model_class(name)
        with pytest.raises(ValueError, match=message):
            cls.config_class(**fields)


def test_aae_specific_validation_and_json_round_trip():
    cls = get_model_class("aae")
    with pytest.raises(ValueError, match="encoder_type"):
        cls.config_class(encoder_type="magic")
    with pytest.raises(ValueError, match="belong to a recipe"):
        cls.config_class.from_dict({"g_lr": 1e-4})
    config = cls.config_class(hidden=(8, 8), encoder_type="universal", prior={"name": "swissroll"})
    assert cls.config_class.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="no field"):
        cls.config_class.from_dict({**config.to_dict(), "typo": 1})


def test_the_convolutional_networks_are_all_convolutional_and_check_their_settings():
    from torch import nn

    cls = get_model_class("aae")
    model = cls(tiny_config(cls, arch="conv", channels=(4, 8), batch_norm=True))
    for net in (model.encoder, model.decoder):
        kinds = {type(m) for m in net.modules()} - {type(net)}
        assert nn.Linear not in kinds and nn.BatchNorm2d in kinds  # no fully connected layer
    assert model.encode(torch.rand(3, 784)).shape == (3, 2)
    with pytest.raises(ValueError, match="arch must be one of"):
        cls.config_class(arch="transformer")
    with pytest.raises(ValueError, match="batch_norm applies to arch 'conv'"):
        cls.config_class(batch_norm=True)
    with pytest.raises(ValueError, match="reads the 28×28 image alone"):  # the universal encoder reads noise too
        cls(tiny_config(cls, arch="conv", encoder_type="universal"))
    with pytest.raises(ValueError, match="hidden_dropout"):
        import dataclasses as dc
        model.use_recipe(dc.replace(get_recipe("adam-balanced"), hidden_dropout=0.5))
