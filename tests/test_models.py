"""Sweep every registered model on tiny configs."""
import pytest
import torch

from aae_core.registry import get_model_class, list_models, register_model

TINY = {"hidden": (16, 16)}


def tiny_configs():
    for name in list_models():
        cls = get_model_class(name)
        extra = [{"encoder_type": t, "disc_hidden": (16,)} for t in ("deterministic", "gaussian", "universal")] \
            + [{"adv_optimizer": "sgd", "disc_hidden": (16,)}] if name == "aae" else [{}]
        for prior in ("gaussian", "mixture10"):
            for e in extra:
                yield pytest.param(cls, cls.config_class(**TINY, prior={"name": prior}, **e),
                                   id=f"{name}-{prior}-{e.get('encoder_type', '')}{e.get('adv_optimizer', '')}")


def test_registry_knows_aae_and_vae_and_refuses_duplicates():
    assert {"aae", "vae"} <= set(list_models())
    with pytest.raises(ValueError, match="already registered"):
        register_model("aae")(type("Other", (), {"config_class": object}))
    with pytest.raises(KeyError, match="known models"):
        get_model_class("nope")


@pytest.mark.parametrize("cls, config", list(tiny_configs()))
def test_shapes_ranges_and_eval_determinism(cls, config):
    torch.manual_seed(0)
    model = cls(config).eval()
    x = torch.rand(7, 784)
    z = model.encode(x)
    assert z.shape == (7, 2)
    assert torch.equal(z, model.encode(x))  # eval-mode encode is deterministic
    out = model.decode(z)
    assert out.shape == (7, 784) and out.min() >= 0 and out.max() <= 1
    assert model.sample(5).shape == (5, 784)
    assert model.latent_dim == 2 and model.prior.dim == 2


@pytest.mark.parametrize("cls, config", list(tiny_configs()))
def test_one_training_step_changes_every_trained_parameter(cls, config):
    torch.manual_seed(0)
    model = cls(config).train()
    before = {k: v.clone() for k, v in model.named_parameters()}
    losses = model.train_step(torch.rand(16, 784), model.configure_optimizers())
    assert all(torch.isfinite(v) and v.dim() == 0 and not v.requires_grad for v in losses.values())
    unchanged = [k for k, v in model.named_parameters() if torch.equal(v, before[k])]
    assert unchanged == []


@pytest.mark.parametrize("name", list_models())
def test_bad_inputs_get_clear_errors(name):
    cls = get_model_class(name)
    model = cls(cls.config_class(**TINY)).eval()
    with pytest.raises(ValueError, match=r"N×784"):
        model.encode(torch.rand(3, 28, 28))
    with pytest.raises(ValueError, match=r"N×2"):
        model.decode(torch.rand(3, 5))
    with pytest.raises(ValueError, match="float"):
        model.encode(torch.zeros(3, 784, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model.decode([[0.0, 0.0]])


@pytest.mark.parametrize("fields, message", [
    ({"latent_dim": 0}, "latent_dim"),
    ({"hidden": (16, -1)}, "hidden"),
    ({"lr": 0}, "lr"),
    ({"prior": {"name": "mixture10"}, "latent_dim": 3}, "2-D only"),
    ({"prior": {"name": "gaussian", "dim": 3}}, "dim 3 but latent_dim is 2"),
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
    with pytest.raises(ValueError, match="adv_optimizer"):
        cls.config_class(adv_optimizer="rmsprop")
    config = cls.config_class(hidden=(8, 8), encoder_type="universal", prior={"name": "swissroll"})
    assert cls.config_class.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="no field"):
        cls.config_class.from_dict({**config.to_dict(), "typo": 1})
