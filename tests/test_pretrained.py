"""The shipped weights are part of the product: check them like code."""
import json

import numpy as np
import pytest
import torch

import aae_core
from aae_core import metrics
from aae_core.weights import verify_folder

EXPECTED = {"aae-gaussian-2d", "vae-gaussian-2d", "aae-mixture10-2d", "vae-mixture10-2d"}


def test_the_paper_pairs_ship():
    assert EXPECTED <= set(aae_core.list_pretrained())


def test_pretrained_folder_stays_small():
    """The shipped files (those in the manifests; not a training run's checkpoint) stay small: at most
    the paper's MLP in float16 (about 7 MiB) per model."""
    total = 0
    for manifest in aae_core.PRETRAINED_DIR.glob("*/manifest.json"):
        size = sum(entry["bytes"] for entry in json.loads(manifest.read_text())["files"].values())
        assert size < 8 * 2**20, f"{manifest.parent.name} is {size / 2**20:.1f} MiB"
        total += size
    assert total < 100 * 2**20, f"pretrained/ ships {total / 2**20:.1f} MiB"


@pytest.fixture(scope="module")
def test_set():
    return aae_core.load_test_set()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_manifest_card_and_public_api(name):
    folder = aae_core.PRETRAINED_DIR / name
    manifest = verify_folder(folder)
    model = aae_core.load_pretrained(name)
    assert manifest["parameters"] == sum(t.numel() for t in model.inference_state_dict().values())
    assert not model.training and model.latent_dim == 2
    assert model.prior.spec()["name"] == name.split("-")[1]
    card = json.loads((folder / "card.json").read_text())
    for key in ("command", "seed", "epochs", "wall_s", "hardware", "data", "metrics"):
        assert key in card, key
    assert card["data"].endswith("(60,000 images)") and "--data" in card["command"]
    x = torch.rand(3, 784)
    assert model.encode(x).shape == (3, 2) and model.decode(model.encode(x)).shape == (3, 784)
    assert model.sample(4).shape == (4, 784)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_codes_and_metrics_come_from_the_shipped_weights(name, test_set):
    model = aae_core.load_pretrained(name)
    data = aae_core.pretrained_codes(name)
    assert data["codes"].shape == (10_000, 2)
    np.testing.assert_array_equal(data["labels"].numpy(), test_set.labels)
    x = torch.from_numpy(test_set.flat_float())
    codes = metrics.encode_all(model, x)
    torch.testing.assert_close(codes, data["codes"], atol=1e-4, rtol=1e-4)
    card = model.card["metrics"]
    assert metrics.reconstruction_error(model, x)["recon_bce"] == pytest.approx(card["recon_bce"], rel=1e-4)
    assert metrics.prior_match(codes, model.prior) == pytest.approx(card["prior_swd"], rel=1e-3)



def test_report_lists_every_shipped_model_with_its_card_numbers():
    from aae_core.report import results_table

    table = results_table()
    for name in aae_core.list_pretrained():
        swd = aae_core.load_pretrained(name).card["metrics"]["prior_swd"]
        assert f"| `{name}` |" in table and f"{swd:.3f}" in table
