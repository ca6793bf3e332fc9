import json
import shutil

import pytest
import torch

from aae_core.weights import CODES, WEIGHTS, WeightsError, load_codes, load_model, sha256_file


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
    path = copy / WEIGHTS
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 does not match"):
        load_model(copy)


def test_a_truncated_file_is_refused(copy):
    path = copy / CODES
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
    (copy / WEIGHTS).write_bytes(b"\x80\x04 pickle? no thanks" * 10)
    rehash(copy, WEIGHTS)
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
    assert after["files"][WEIGHTS] == before["files"][WEIGHTS]
    assert after["parameters"] == before["parameters"] and load_model(copy).card


# -- 8-bit weights ------------------------------------------------------------------------------
def _stored(folder):
    from aae_core.weights import _load_tensors
    return _load_tensors(folder / WEIGHTS)


def _off_grid(folder, amount: float):
    """The folder's model with its weights moved off the 8-bit grid by seeded noise of ``amount``."""
    model = load_model(folder)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(amount * torch.randn_like(p))
    return model


def test_int8_weights_reload_within_half_a_step_of_the_float_weights(trained_dir, tmp_path):
    from aae_core.weights import save_model

    assert json.loads((trained_dir / "config.json").read_text())["dtype"] == "int8"  # shipped as int8 by default
    stored = _stored(trained_dir)
    assert stored["encoder.0.weight"].dtype == torch.int8 and stored["encoder.0.weight::scale"].dtype == torch.float32
    model = _off_grid(trained_dir, 0.01)  # float weights not on the 8-bit grid, stored both ways
    save_model(model, tmp_path / "f32", card={}, dtype="float32")
    save_model(model, tmp_path / "i8", card={}, dtype="int8")
    f32, i8 = load_model(tmp_path / "f32"), load_model(tmp_path / "i8")
    scales = _stored(tmp_path / "i8")
    for name, w in f32.inference_state_dict().items():
        w8 = i8.inference_state_dict()[name]
        if w.dim() == 2:  # within half a quantisation step of its own row
            assert ((w8 - w).abs() <= scales[name + "::scale"][:, None] / 2 + 1e-7).all()
        else:
            assert torch.equal(w8, w)
    x = torch.rand(50, 784)
    assert (i8.decode(i8.encode(x)) - f32.decode(f32.encode(x))).abs().max() < 0.05
    assert (tmp_path / "i8" / WEIGHTS).stat().st_size < 0.3 * (tmp_path / "f32" / WEIGHTS).stat().st_size


def _resave(folder, tensors):
    from aae_core.weights import save_file
    save_file(tensors, folder / WEIGHTS)
    rehash(folder, WEIGHTS)


@pytest.mark.parametrize("tamper", [
    lambda t: t.pop("encoder.0.weight::scale"),  # a weight without its scale
    lambda t: t.update({"encoder.0.weight::scale": -t["encoder.0.weight::scale"]}),
    lambda t: t.update({"encoder.0.weight::scale": t["encoder.0.weight::scale"] * float("nan")}),
    lambda t: t.update({"encoder.0.weight::scale": t["encoder.0.weight::scale"][:3]}),
    lambda t: t.update({"encoder.0.weight::scale": t["encoder.0.weight::scale"].double()}),
    lambda t: t.update({"encoder.0.bias": t["encoder.0.bias"].to(torch.int8)}),  # int8 with no scale
    lambda t: t.update({"stray::scale": torch.ones(3)}),  # a scale that belongs to nothing
    lambda t: t.update({"encoder.0.weight": t["encoder.0.weight"].to(torch.int16)}),
])
def test_tampered_int8_files_are_refused_even_with_a_matching_manifest(copy, tamper):
    tensors = _stored(copy)
    tamper(tensors)
    _resave(copy, tensors)
    with pytest.raises(WeightsError):
        load_model(copy)


def test_an_unknown_dtype_is_refused(copy):
    meta = json.loads((copy / "config.json").read_text())
    meta["dtype"] = "int4"
    (copy / "config.json").write_text(json.dumps(meta))
    rehash(copy, "config.json")
    with pytest.raises(WeightsError, match="dtype must be one of"):
        load_model(copy)


def test_quantize_migrates_a_legacy_float_folder_and_records_the_change(trained_dir, tmp_path, idx_folder):
    """A folder from before recipes (float16, training settings inside its config) becomes int8 with
    its recipe on the card and the measured change of every checked metric."""
    from aae_core import quantize
    from aae_core.weights import save_model

    model = load_model(trained_dir)
    legacy = tmp_path / "legacy"
    card = json.loads((trained_dir / "card.json").read_text())
    card.pop("recipe"), card.pop("recipe_name")
    save_model(model, legacy, card=card, dtype="float16")
    meta = json.loads((legacy / "config.json").read_text())
    meta["config"].update(lr=1e-3, g_lr=1e-4, d_lr=1e-4, adv_beta1=0.5, disc_noise=0.3)
    (legacy / "config.json").write_text(json.dumps(meta))
    rehash(legacy, "config.json")
    with pytest.raises(WeightsError, match="belong to a recipe"):
        load_model(legacy)
    data = trained_dir.parent / "idx"
    assert quantize.main([str(legacy), "--data", str(data), "--dataset", "idx"]) == 0
    migrated = load_model(legacy)
    card = migrated.card
    assert card["weights_dtype"] == "int8" and json.loads((legacy / "config.json").read_text())["dtype"] == "int8"
    assert card["recipe"]["phases"]["g"]["lr"] == 1e-4 and card["recipe"]["disc_noise"] == {"d": 0.3}
    change = card["quantization"]["relative_change"]
    assert set(change) >= {"recon_bce", "knn5_accuracy"} and all(v <= 0.01 for v in change.values())
    assert card["metrics"]["recon_bce"] == pytest.approx(card["quantization"]["after"]["recon_bce"])
    # a second run leaves an int8 folder alone
    assert quantize.main([str(legacy), "--data", str(data), "--dataset", "idx"]) == 0


def test_quantize_refuses_when_a_metric_moves_too_much(trained_dir, tmp_path):
    """Weights off the 8-bit grid move some metric under rounding: a zero tolerance refuses, untouched."""
    from aae_core import quantize
    from aae_core.weights import save_model

    model = _off_grid(trained_dir, 0.05)
    folder = tmp_path / "f32"
    save_model(model, folder, card=json.loads((trained_dir / "card.json").read_text()), dtype="float32")
    before = sha256_file(folder / WEIGHTS)
    rc = quantize.main([str(folder), "--data", str(trained_dir.parent / "idx"), "--dataset", "idx", "--tolerance", "0"])
    assert rc == 3
    assert sha256_file(folder / WEIGHTS) == before
    assert json.loads((folder / "config.json").read_text())["dtype"] == "float32"


@pytest.mark.parametrize("dtype, levels", [("int7", 63), ("int6", 31)])
def test_fewer_bits_store_smaller_rows_within_half_a_step_and_a_value_beyond_them_is_refused(
        trained_dir, tmp_path, dtype, levels):
    from aae_core.weights import BITS, quantize_int8, save_model

    model = _off_grid(trained_dir, 0.01)
    save_model(model, tmp_path / "i8", card={}, dtype="int8")
    save_model(model, tmp_path / dtype, card={}, dtype=dtype)
    stored = _stored(tmp_path / dtype)
    back = load_model(tmp_path / dtype)
    for name, w in model.inference_state_dict().items():
        if w.dim() == 2:
            q, scale = stored[name], stored[name + "::scale"]
            assert q.dtype == torch.int8 and q.abs().max() == levels  # each row's largest weight at ±levels
            torch.testing.assert_close(scale, w.abs().amax(1) / levels)
            assert ((back.inference_state_dict()[name] - w).abs() <= scale[:, None] / 2 + 1e-7).all()
    assert (tmp_path / dtype / WEIGHTS).stat().st_size < (tmp_path / "i8" / WEIGHTS).stat().st_size
    assert json.loads((tmp_path / dtype / "config.json").read_text())["dtype"] == dtype
    # a value an honest writer of these bits never writes: refused, not silently loaded
    tampered = quantize_int8(model.inference_state_dict(), BITS[dtype])
    name = next(n for n, t in tampered.items() if t.dtype == torch.int8)
    tampered[name][0, 0] = levels + 1
    from aae_core.weights import dequantize_int8
    with pytest.raises(WeightsError, match="lacks a valid per-row scale"):
        dequantize_int8(tampered, tmp_path / "x", BITS[dtype])
    with pytest.raises(ValueError, match="bits must be one of"):
        quantize_int8(model.inference_state_dict(), 5)


def test_quantize_with_fewest_bits_keeps_the_fewest_within_the_tolerance_and_says_what_it_refused(trained_dir, tmp_path):
    from aae_core import quantize
    from aae_core.weights import save_model

    model = _off_grid(trained_dir, 0.05)
    data = ["--data", str(trained_dir.parent / "idx"), "--dataset", "idx"]
    card = json.loads((trained_dir / "card.json").read_text())
    for tolerance, expected in (("10", "int6"), ("0", None)):
        folder = tmp_path / f"f32-{tolerance}"
        save_model(model, folder, card=card, dtype="float32")
        rc = quantize.main([str(folder), *data, "--fewest-bits", "--fallback", "--tolerance", tolerance])
        meta = json.loads((folder / "config.json").read_text())
        if expected:  # anything goes: 6 bits, the fewest
            assert rc == 0 and meta["dtype"] == expected
            q = json.loads((folder / "card.json").read_text())["quantization"]
            assert q["to"] == "int6" and q["refused"] == {} and "--fewest-bits" in q["command"]
        else:  # nothing may move: every width refused, the folder untouched
            assert rc == 3 and meta["dtype"] == "float32"


def test_an_8_bit_folder_is_rounded_again_only_where_fewer_bits_keep_its_numbers(trained_dir, tmp_path):
    import shutil

    from aae_core import quantize
    from aae_core.data import load_split

    idx = trained_dir.parent / "idx"
    train, test = load_split(idx, "train", "idx"), load_split(idx, "test", "idx")
    kept, rounded = tmp_path / "kept", tmp_path / "rounded"
    for f in (kept, rounded):
        shutil.copytree(trained_dir, f, ignore=shutil.ignore_patterns("checkpoint.pt"))
    before = sha256_file(kept / WEIGHTS)
    report = quantize.quantize_folder(kept, train, test, 0.0, fewest_bits=True)  # nothing may move
    assert report["skipped"].startswith("8 bits kept") and sha256_file(kept / WEIGHTS) == before
    report = quantize.quantize_folder(rounded, train, test, 10.0, fewest_bits=True)  # anything goes
    assert report["from"] == "int8" and report["to"] == "int6"
    card = json.loads((rounded / "card.json").read_text())
    assert card["weights_dtype"] == "int6" and json.loads((rounded / "config.json").read_text())["dtype"] == "int6"
    assert card["quantization"]["from"] == "int8" and "recon_bce" in card["quantization"]["after"]
    assert load_model(rounded).card["metrics"]["recon_bce"] == pytest.approx(card["quantization"]["after"]["recon_bce"])
    assert quantize.quantize_folder(rounded, train, test, 10.0, fewest_bits=True)["skipped"] == "already int6, compressed"


# -- a full disk ----------------------------------------------------------------------------------
def _full_disk_after(n_bytes: int):
    """A stand-in for a writer that runs out of space: writes n_bytes of the file, then ENOSPC."""
    import errno

    def write(tensors, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"\0" * n_bytes)
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


def test_a_full_disk_while_writing_weights_leaves_the_previous_folder_intact(copy, monkeypatch):
    from aae_core import weights

    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    model = load_model(copy)
    monkeypatch.setattr(weights, "save_file", _full_disk_after(1000))
    with pytest.raises(OSError, match="No space left"):
        weights.save_model(model, copy, card={"new": True}, dtype="int8")
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before  # byte for byte
    assert load_model(copy).card.get("new") is None
    assert [p.name for p in copy.parent.iterdir() if p.name.startswith(".")] == []  # nothing half-written left


def test_a_full_disk_while_writing_a_checkpoint_keeps_the_previous_one(idx_folder, tmp_path, monkeypatch):
    from aae_core import train

    out = tmp_path / "run"
    args = ["--model", "aae", "--data", str(idx_folder), "--dataset", "idx", "--hidden", "16,16",
            "--set", "disc_hidden=[16]", "--batch-size", "50", "--out", str(out), "--no-progress", "--threads", "1"]
    real_save = torch.save
    calls = {"n": 0}

    def save_then_fill_the_disk(obj, path, *a, **k):
        calls["n"] += 1
        if calls["n"] == 1:
            return real_save(obj, path, *a, **k)
        with open(path, "wb") as fh:
            fh.write(b"\0" * 100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", save_then_fill_the_disk)
    assert train.main(args + ["--epochs", "3"]) == 3  # stops with a message in epoch 2's checkpoint
    checkpoint = train.load_checkpoint(out / train.CHECKPOINT)
    assert int(checkpoint["epoch"]) == 1  # the last good checkpoint
    assert not (out / f".{train.CHECKPOINT}.tmp").exists()
    monkeypatch.setattr(torch, "save", real_save)
    assert train.main(args + ["--epochs", "3"]) == 0  # resumes from epoch 1 and finishes
    assert load_model(out).card["epochs"] == 3


def test_an_xz_bomb_is_refused(copy, monkeypatch):
    """A compressed weights file that would inflate past the limit is refused before it is parsed."""
    import lzma

    from aae_core import weights

    monkeypatch.setattr(weights, "MAX_TENSOR_BYTES", 1 << 20)
    (copy / WEIGHTS).write_bytes(lzma.compress(b"\0" * (8 << 20)))
    rehash(copy, WEIGHTS)
    with pytest.raises(WeightsError, match="inflates beyond"):
        load_model(copy)


def test_plain_first_format_folders_still_load_and_repack_to_the_same_weights(trained_dir, tmp_path):
    """An 8-bit folder of the first format (plain model.safetensors, float32 codes) loads, and
    quantize repacks it compressed without changing a single weight."""
    from safetensors.torch import save_file as plain_save

    from aae_core import quantize
    from aae_core.weights import _load_tensors, write_manifest

    folder = tmp_path / "plain"
    shutil.copytree(trained_dir, folder)
    plain_save(_load_tensors(folder / WEIGHTS), str(folder / "model.safetensors"))
    plain_save(load_codes(folder), str(folder / "codes.safetensors"))
    (folder / WEIGHTS).unlink(), (folder / CODES).unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    write_manifest(folder, ["model.safetensors", "codes.safetensors", "config.json", "card.json", "README.md"],
                   {k: v for k, v in manifest.items() if k not in ("format", "files")})
    before = load_model(folder).inference_state_dict()
    assert quantize.main([str(folder), "--data", str(trained_dir.parent / "idx"), "--dataset", "idx"]) == 0
    assert (folder / WEIGHTS).exists() and not (folder / "model.safetensors").exists()
    after = load_model(folder).inference_state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    torch.testing.assert_close(load_codes(folder)["codes"], load_codes(trained_dir)["codes"])


def test_an_empty_int8_weight_is_refused_not_a_crash(copy):
    tensors = _stored(copy)
    tensors["encoder.0.weight"] = torch.zeros(0, 784, dtype=torch.int8)
    tensors["encoder.0.weight::scale"] = torch.ones(0)
    _resave(copy, tensors)
    with pytest.raises(WeightsError):
        load_model(copy)


def test_a_failed_swap_puts_the_old_folder_back_with_its_checkpoint(copy, monkeypatch):
    """The second rename of the swap fails: the previous folder and a training checkpoint in it survive."""
    import os
    from pathlib import Path

    from aae_core import weights

    (copy / "checkpoint.pt").write_bytes(b"training state")
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    real_replace = os.replace

    def flaky_replace(src, dst):
        if str(src).endswith(".writing") and Path(dst) == copy:  # build → folder
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(weights.os, "replace", flaky_replace)
    with pytest.raises(OSError):
        weights.save_model(load_model(copy), copy, card={"new": True}, dtype="int8")
    monkeypatch.setattr(weights.os, "replace", real_replace)
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
    assert [p.name for p in copy.parent.iterdir() if p.name.startswith(".")] == []
    # and a successful save keeps the checkpoint it does not own
    weights.save_model(load_model(copy), copy, card={"new": True}, dtype="int8")
    assert (copy / "checkpoint.pt").read_bytes() == b"training state" and load_model(copy).card == {"new": True}


def test_convolution_kernels_are_stored_in_8_bits_per_output_slice(tmp_path):
    from aae_core.registry import get_model_class
    from aae_core.weights import save_model

    cls = get_model_class("aae")
    torch.manual_seed(0)
    model = cls(cls.config_class(arch="conv", channels=(4, 8), batch_norm=True, disc_hidden=(8,))).eval()
    save_model(model, tmp_path / "conv", card={}, dtype="int8")
    stored = _stored(tmp_path / "conv")
    kernel = stored["encoder.0.weight"]  # Conv2d 4×1×4×4
    assert kernel.dtype == torch.int8 and kernel.shape == (4, 1, 4, 4) and stored["encoder.0.weight::scale"].shape == (4,)
    assert stored["encoder.1.running_var"].dtype == torch.float32  # batch-norm statistics stay float
    loaded = load_model(tmp_path / "conv")
    for name, w in model.inference_state_dict().items():
        got = loaded.inference_state_dict()[name]
        if w.dim() >= 2:  # within half a quantisation step of each slice
            step = w.abs().flatten(1).amax(1) / 127
            assert ((got - w).abs().flatten(1) <= step[:, None] / 2 + 1e-7).all(), name
        else:
            assert torch.equal(got, w.float()), name
    x = torch.rand(5, 784)
    torch.testing.assert_close(loaded.encode(x), model.encode(x), atol=0.05, rtol=0.05)


def test_json_is_written_compactly_and_reads_back_exactly(tmp_path):
    """Cards hold a row per epoch: each row, list of numbers and curve on one line, nested objects
    indented, keys sorted; what is read back is exactly what was written (floats to the last bit)."""
    import json

    from aae_core.weights import json_text, write_json

    card = {"history": [{"epoch": e, "recon": 1 / (e + 3), "val": None} for e in range(1, 201)],
            "config": {"hidden": [256, 256], "prior": {"name": "gaussian", "std": 1.0}},
            "curve": [[1, 0.5], [2, float("1e-300")]], "empty": {}, "rows": [], "name": "x \"quoted\" é",
            "nested": {"deep": {"deeper": [{"a": [1, {"b": 2}]}]}}}
    write_json(tmp_path / "card.json", card)
    text = (tmp_path / "card.json").read_text()
    assert json.loads(text) == card and text == json_text(card) + "\n"
    lines = text.splitlines()
    assert sum('"epoch"' in line for line in lines) == 200 and len(lines) < 240  # a row per epoch
    assert '    "hidden": [256, 256],' in lines and lines[0] == "{" and lines[-1] == "}"
    assert list(json.loads(text)) == sorted(card)
