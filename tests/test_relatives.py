"""The relatives (issue 12): AE, denoising AE, contractive AE, WAE-MMD, WAE-GAN, conditional VAE, ALAE —
their pure pieces against closed forms, and each family trained from the CLI."""
import numpy as np
import pytest
import torch

from aae_core import losses
from aae_core.corrupt import CORRUPTIONS, corrupt
from aae_core.registry import get_model_class
from aae_core.weights import load_model
from tests.test_train import cli

RELATIVES = ("ae", "dae", "cae", "wae-mmd", "wae-gan", "cvae", "alae")


def test_jacobian_penalty_of_a_linear_map_is_its_frobenius_norm():
    torch.manual_seed(0)
    w = torch.randn(3, 6)
    x = torch.rand(5, 6, requires_grad=True)
    z = x @ w.T + 1.0  # N×3, Jacobian W at every x
    assert losses.jacobian_frobenius(z, x).item() == pytest.approx(w.pow(2).sum().item(), rel=1e-6)


def test_jacobian_penalty_of_a_sigmoid_layer_matches_rifais_closed_form():
    # h = σ(Wx + b): ‖J‖²_F = Σ_j (h_j(1 − h_j))² Σ_i W_ji², averaged over the batch
    torch.manual_seed(1)
    w, b = torch.randn(4, 7), torch.randn(4)
    x = torch.rand(8, 7, requires_grad=True)
    h = torch.sigmoid(x @ w.T + b)
    closed = ((h * (1 - h)).pow(2) @ w.pow(2).sum(1)).mean()
    assert losses.jacobian_frobenius(h, x).item() == pytest.approx(closed.item(), rel=1e-5)


def test_jacobian_penalty_is_differentiable_in_the_weights():
    w = torch.randn(2, 5, requires_grad=True)
    x = torch.rand(3, 5, requires_grad=True)
    losses.jacobian_frobenius(torch.tanh(x @ w.T), x).backward()
    assert w.grad is not None and torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0


def test_squared_error_sums_pixels_and_averages_images():
    x = torch.zeros(2, 4)
    recon = torch.tensor([[1.0, 0, 0, 0], [1.0, 1.0, 1.0, 0]])
    assert losses.squared_error(recon, x).item() == pytest.approx(2.0)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corruptions_stay_in_range_and_their_level_means_what_it_says(kind):
    x = torch.full((200, 784), 0.5)
    out = corrupt(x, kind, 0.3, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert torch.equal(corrupt(x, kind, 0.0), x)
    if kind == "mask":
        assert (out == 0).float().mean().item() == pytest.approx(0.3, abs=0.01)
    elif kind == "salt-pepper":
        changed = (out != 0.5).float().mean().item()
        assert changed == pytest.approx(0.3, abs=0.01)
        assert (out == 1).float().mean().item() == pytest.approx(0.15, abs=0.01)
    else:  # at 0.1 from x = 0.5, clipping to [0, 1] (5 σ away) leaves the spread as asked
        assert (corrupt(x, kind, 0.1) - x).std().item() == pytest.approx(0.1, abs=0.005)


@pytest.mark.parametrize("kind, level", [("blur", 0.5), ("mask", 1.5), ("mask", -0.1), ("mask", "half")])
def test_corruption_refuses_bad_settings(kind, level):
    with pytest.raises(ValueError):
        corrupt(torch.rand(2, 784), kind, level)
    with pytest.raises(ValueError):
        get_model_class("dae").config_class(corruption=kind, corruption_level=level)


def test_the_denoising_encoder_corrupts_in_training_only():
    cls = get_model_class("dae")
    model = cls(cls.config_class(hidden=(16,), corruption="mask", corruption_level=0.9))
    x = torch.rand(4, 784)
    model.eval()
    assert torch.equal(model.encode(x), model.encode(x))
    model.train()
    torch.manual_seed(0)
    a = model.encode(x)
    assert not torch.equal(a, model.encode(x))  # a fresh corruption each call


def test_the_contractive_objective_adds_its_weighted_penalty():
    cls = get_model_class("cae")
    torch.manual_seed(0)
    model = cls(cls.config_class(hidden=(16,), contractive_weight=2.5))
    terms = model.objective(torch.rand(6, 784))
    assert terms["contractive"] > 0
    torch.testing.assert_close(terms["loss"], terms["recon"] + 2.5 * terms["contractive"])


def test_wae_mmd_objective_is_cost_plus_weighted_mmd_and_the_mmd_falls_with_the_prior():
    cls = get_model_class("wae-mmd")
    torch.manual_seed(0)
    model = cls(cls.config_class(hidden=(16,), weight=10.0, prior={"name": "gaussian", "std": 1.0}))
    terms = model.objective(torch.rand(64, 784))
    torch.testing.assert_close(terms["loss"], terms["recon"] + 10.0 * terms["mmd"])
    # the estimator itself: codes drawn from the prior score ≈ 0, codes far off score high
    prior = torch.randn(256, 2)
    assert abs(losses.mmd_imq(torch.randn(256, 2), prior).item()) < 0.05
    assert losses.mmd_imq(torch.randn(256, 2) + 3, prior).item() > 0.5


def test_the_plain_autoencoders_have_no_prior_to_match():
    for name in ("ae", "dae", "cae"):
        assert not get_model_class(name).prior_matched
    for name in ("wae-mmd", "wae-gan", "cvae", "vae", "aae"):
        assert get_model_class(name).prior_matched


def test_the_conditional_vae_writes_one_style_as_every_digit():
    cls = get_model_class("cvae")
    model = cls(cls.config_class(hidden=(16,))).eval()
    images = model.decode(torch.zeros(10, 2), torch.arange(10))
    assert len({tuple(img.round(decimals=5).tolist()) for img in images}) == 10
    with pytest.raises(ValueError, match="pass labels="):
        model.reconstruct_logits(torch.rand(2, 784))


@pytest.mark.parametrize("family", RELATIVES)
def test_every_relative_trains_from_the_cli_and_loads(idx_folder, tmp_path, family):
    extra = ["--set", "disc_hidden=[32]"] if family in ("wae-gan", "alae") else []
    labels = ["--labels", "all"] if family == "cvae" else []
    assert cli(idx_folder, tmp_path / family, *extra, *labels, model=family, epochs=2) == 0
    model = load_model(tmp_path / family)
    assert model.model_name == family
    history = model.card["history"]
    if "recon" in history[0]:  # the ALAE never reconstructs pixels in training
        assert history[1]["recon"] < history[0]["recon"]  # it learned something
    for key in model.extra_metrics:
        assert 0 <= model.card["metrics"][key] <= 1
    assert "discriminator" not in " ".join(model.inference_state_dict())  # only E and D ship


def test_the_benchmark_counts_a_step_as_it_runs():
    # a plain AE: every linear layer forward (2 MACs), weight gradient (2) and input gradient (2),
    # except the input gradient of the first layer, fed by data
    from aae_core.bench import counted_flops
    from aae_core.models import Batch
    from aae_core.recipes import get_recipe

    cls = get_model_class("ae")
    model = cls(cls.config_class(hidden=(32, 16))).train()
    opts = get_recipe("adam").build_optimizers(model)
    macs = (784 * 32 + 32 * 16 + 16 * 2) + (2 * 16 + 16 * 32 + 32 * 784)
    assert counted_flops(model, Batch(x=torch.rand(10, 784)), opts) == 6 * macs - 2 * 784 * 32
    cae = get_model_class("cae")(get_model_class("cae").config_class(hidden=(32, 16))).train()
    opts = get_recipe("adam").build_optimizers(cae)  # the Jacobian's passes cost more than a plain step
    assert counted_flops(cae, Batch(x=torch.rand(10, 784)), opts) > 6 * macs


def test_alae_plays_its_game_in_the_latent_space_and_samples_through_its_mapping():
    cls = get_model_class("alae")
    torch.manual_seed(0)
    model = cls(cls.config_class(hidden=(16,), disc_hidden=(8,), latent_dim=3, mapping_layers=2)).eval()
    assert set(model.inference_state_dict()) >= {"mapping.0.weight"}  # F ships: sampling needs it
    assert not any(k.startswith("discriminator") for k in model.inference_state_dict())
    z = torch.randn(4, 3)
    gen = torch.Generator().manual_seed(0)
    z0, _ = model.prior.sample(4, torch.Generator().manual_seed(0))
    torch.testing.assert_close(model.sample(4, gen), model.decode(model.mapping(z0)))  # G(F(z))
    assert model.decode(z).shape == (4, 784) and model.encode(torch.rand(2, 784)).shape == (2, 3)
    assert model.mapping[0].weight.shape == (3, 3)  # F as wide as the code by default
    wide = cls(cls.config_class(hidden=(16,), disc_hidden=(8,), latent_dim=3, mapping_layers=3, mapping_width=32))
    assert [m.weight.shape[0] for m in wide.mapping if hasattr(m, "weight")] == [32, 32, 3]
    with pytest.raises(ValueError, match="mapping_width"):
        cls.config_class(mapping_width=-1)
    with pytest.raises(ValueError, match="reciprocity"):
        cls.config_class(reciprocity="max")
    normed = cls(cls.config_class(hidden=(16,), disc_hidden=(8,), latent_dim=3, mapping_layers=2, code_norm=True))
    for w in (normed.encode(torch.rand(5, 784) * 3), normed.map(torch.randn(5, 3) * 40)):
        torch.testing.assert_close(w.pow(2).mean(1), torch.ones(5))  # every code at root mean square 1
    gen = torch.Generator().manual_seed(0)
    z0, _ = normed.prior.sample(4, torch.Generator().manual_seed(0))
    torch.testing.assert_close(normed.sample(4, gen), normed.decode(normed.map(z0)))  # G(norm(F(z)))


def test_alae_reciprocity_is_the_squared_distance_summed_or_averaged_over_the_code():
    """The E–G step's loss, read back from one train step: ‖w − E(G(w))‖² with w = F(z), summed over the
    d dims (the paper's) or averaged over them (the public ports'): exactly 1/d of it, same batch."""
    from aae_core.models.base import Batch
    from aae_core.recipes import get_recipe

    cls = get_model_class("alae")
    recips = {}
    for reduction in ("sum", "mean"):
        torch.manual_seed(0)
        model = cls(cls.config_class(hidden=(16,), disc_hidden=(8,), latent_dim=4, reciprocity=reduction))
        opts = get_recipe(model.default_recipe).build_optimizers(model)
        torch.manual_seed(1)
        recips[reduction] = float(model.train_step(Batch(x=torch.rand(8, 784)), opts)["recip"])
    assert recips["mean"] == pytest.approx(recips["sum"] / 4, rel=1e-5)


def test_the_code_metrics_a_family_asks_for():
    from aae_core.metrics import CODE_METRICS

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    codes = np.eye(3)[y] * 5 + rng.normal(0, 0.1, (300, 3))  # linearly separable by digit
    for key in get_model_class("alae").extra_metrics:
        assert CODE_METRICS[key](codes[:200], y[:200], codes[200:], y[200:]) == 1.0
    noise = rng.normal(0, 1, (300, 3))  # codes that carry nothing: near chance
    assert CODE_METRICS["linear_accuracy"](noise[:200], y[:200], noise[200:], y[200:]) < 0.6
