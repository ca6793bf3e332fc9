import json
import shutil

import pytest
import torch

from aae_core.weights import WeightsError, load_codes, load_model, sha256_file


def test_round_trip_restores_the_trained_model(trained_dir):
    model = load_model(trained_dir)
    assert not model.training and model.latent_dim == 2
    assert all(not p.requires_grad for p in model.parameters())
    x = torch.rand(5, 784)
    again = load_model(trained_dir)
    assert torch.equal(model.encode(x), again.encode(x))
    manifest = json.loads((trained_dir / "manifest.json").read_text())
    assert manifest["parameters"] == sum(t.numel() for t in model.inference_state_dict().values())
    assert "discriminator.0.weight" not in model.inference_state_dict()  # training-only part not shipped
    codes = load_codes(trained_dir)
    assert codes["codes"].shape == (100, 2) and codes["labels"].shape == (100,)


def rehash(folder, name):
    """Rewrite the manifest entry of ``name`` to match the file: a tamperer who also edits the manifest."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = {"sha256": sha256_file(folder / name), "bytes": (folder / name).stat().st_size}
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def copy(trained_dir, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(trained_dir, dst)
    return dst


def test_a_flipped_byte_is_refused(copy):
    path = copy / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 does not match"):
        load_model(copy)


def test_a_truncated_file_is_refused(copy):
    path = copy / "codes.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(WeightsError, match="truncated"):
        load_codes(copy)


def test_a_tampered_config_is_refused_even_with_a_matching_manifest(copy):
    # An attacker who also rewrites the manifest still cannot smuggle in a wrong architecture.
    meta = json.loads((copy / "config.json").read_text())
    meta["config"]["hidden"] = [64, 64]
    (copy / "config.json").write_text(json.dumps(meta))
    rehash(copy, "config.json")
    with pytest.raises(WeightsError, match="size mismatch"):
        load_model(copy)


def test_garbage_where_safetensors_should_be(copy):
    (copy / "model.safetensors").write_bytes(b"\x80\x04 pickle? no thanks" * 10)
    rehash(copy, "model.safetensors")
    with pytest.raises(WeightsError, match="not a valid safetensors file"):
        load_model(copy)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: (d / "manifest.json").unlink(), "manifest.json: missing"),
    (lambda d: (d / "manifest.json").write_text("{not json"), "not valid JSON"),
    (lambda d: (d / "manifest.json").write_text("[1, 2]"), "expected a JSON object"),
    (lambda d: (d / "card.json").unlink(), "card.json: listed in the manifest but missing"),
])
def test_broken_manifests(copy, mutate, message):
    mutate(copy)
    with pytest.raises(WeightsError, match=message):
        load_model(copy)


def test_missing_folder(tmp_path):
    with pytest.raises(WeightsError, match="no such weights folder"):
        load_model(tmp_path / "nothing")


def test_rewriting_the_card_for_people_keeps_the_folder_valid(trained_dir, tmp_path):
    import shutil

    from aae_core.weights import rewrite_card_markdown, verify_folder

    copy = tmp_path / "copy"
    shutil.copytree(trained_dir, copy)
    before = verify_folder(copy)
    rewrite_card_markdown(copy, "# new card\n")
    after = verify_folder(copy)  # re-hashed: still loads
    assert (copy / "README.md").read_text() == "# new card\n"
    assert after["files"]["model.safetensors"] == before["files"]["model.safetensors"]
    assert after["parameters"] == before["parameters"] and load_model(copy).card
