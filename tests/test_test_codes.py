"""Test codes recomputed at load (aae_core.test_codes): a slimmed folder gives the same codes as the
ones it stored, slimming checks before it drops, and what cannot be recomputed stays."""
from __future__ import annotations

import lzma
import shutil

import numpy as np
import pytest
import torch

import aae_core
from aae_core import metrics, test_codes
from aae_core.weights import CODES, WeightsError, load_codes, replace_files, save_bytes, verify_folder


@pytest.fixture(scope="module")
def test_set():
    return aae_core.load_test_set()


def _root_with(name: str, tmp_path):
    """A pretrained root in tmp_path holding a copy of one shipped folder and the test set."""
    for n in (name, "mnist-test"):
        shutil.copytree(aae_core.PRETRAINED_DIR / n, tmp_path / n)
    return tmp_path


def _store_full(folder, data: dict[str, torch.Tensor]) -> None:
    """Write a codes file as a training run does (float tensors in float16)."""
    tensors = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in data.items()}
    replace_files(folder, {CODES: lzma.compress(save_bytes(tensors))})


def test_compute_is_the_encoder_over_the_images_in_batches(test_set):
    model = aae_core.load_pretrained("cluster-aae-16")
    images = test_set.images[:2500]  # spans three batches, the last one partial
    out = test_codes.compute(model, images)
    x = torch.from_numpy(images.reshape(2500, -1).astype(np.float32) / 255)
    torch.testing.assert_close(out["codes"], metrics.encode_all(model, x))
    torch.testing.assert_close(out["probs"], metrics.class_probs_all(model, x))
    assert set(test_codes.compute(aae_core.load_pretrained("ae-2d"), images)) == {"codes"}  # no q(y|x)


@pytest.mark.parametrize("name", ["ae-2d", "cluster-aae-16"])
def test_slim_drops_what_is_recomputed_and_keeps_the_cluster_labels(name, tmp_path, test_set):
    root = _root_with(name, tmp_path)
    folder = root / name
    full = aae_core.pretrained_codes(name, root)  # recomputed or stored: the whole set
    _store_full(folder, full)  # as a fresh training run stores them
    stored_before = load_codes(folder)
    assert {"codes", "labels"} <= set(stored_before)

    report = test_codes.slim(folder, test_set)
    verify_folder(folder)
    assert report["codes_gap"] < test_codes.TOLERANCE and report["bytes_after"] < report["bytes_before"] / 5
    if name == "cluster-aae-16":
        assert set(load_codes(folder)) == {"cluster_map_paper", "cluster_map_majority"}
        assert report["probs_gap"] < test_codes.TOLERANCE
    else:
        assert not (folder / CODES).exists() and CODES not in verify_folder(folder)["files"]
    again = aae_core.pretrained_codes(name, root)
    assert set(again) == set(full)
    for key in full:  # what the app reads is what was stored, to float16's rounding
        torch.testing.assert_close(again[key].float(), stored_before[key].float(), atol=2e-3, rtol=2e-3)
    np.testing.assert_array_equal(again["labels"].numpy(), test_set.labels)
    assert test_codes.slim(folder, test_set).get("skipped") or report["kept"]  # a second slim changes nothing


def test_slim_refuses_codes_that_are_not_the_model_s_and_changes_nothing(tmp_path, test_set):
    root = _root_with("ae-2d", tmp_path)
    folder = root / "ae-2d"
    full = aae_core.pretrained_codes("ae-2d", root)
    _store_full(folder, {**full, "codes": full["codes"] + 0.5})  # not what this network encodes
    manifest = verify_folder(folder)
    with pytest.raises(WeightsError, match="recomputed codes differ"):
        test_codes.slim(folder, test_set)
    assert verify_folder(folder) == manifest  # nothing dropped

    _store_full(folder, {**full, "labels": torch.from_numpy((test_set.labels[::-1] % 10).astype(np.uint8).copy())})
    with pytest.raises(WeightsError, match="labels are not the shipped test set's"):
        test_codes.slim(folder, test_set)


def test_a_folder_of_another_data_set_without_codes_is_refused_clearly(trained_dir, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(trained_dir, folder, ignore=shutil.ignore_patterns("checkpoint.pt"))
    assert test_codes.slim(folder, None)["skipped"].startswith("not an MNIST model")  # trained on synthetic IDX files
    replace_files(folder, {}, drop=(CODES,))
    with pytest.raises(WeightsError, match="only an MNIST model's can be recomputed"):
        test_codes.complete(folder, lambda: pytest.fail("the test set is not needed to refuse"))


def test_stored_codes_are_used_as_they_are_without_loading_anything(trained_dir):
    data = test_codes.complete(trained_dir, lambda: pytest.fail("nothing to recompute"))
    torch.testing.assert_close(data["codes"], load_codes(trained_dir)["codes"])


def test_a_codes_file_of_mismatched_parts_is_refused(tmp_path, trained_dir):
    folder = tmp_path / "m"
    shutil.copytree(trained_dir, folder, ignore=shutil.ignore_patterns("checkpoint.pt"))
    codes = load_codes(folder)
    bad = {"codes": codes["codes"], "labels": codes["labels"][:-1]}
    replace_files(folder, {CODES: lzma.compress(save_bytes(bad))})
    with pytest.raises(WeightsError, match="expected tensors"):
        load_codes(folder)
    replace_files(folder, {CODES: lzma.compress(save_bytes({"labels": codes["labels"]}))})
    assert set(load_codes(folder)) == {"labels"}  # a subset is a valid file


def test_replace_files_can_drop_a_file_but_not_one_it_writes(tmp_path, trained_dir):
    folder = tmp_path / "m"
    shutil.copytree(trained_dir, folder, ignore=shutil.ignore_patterns("checkpoint.pt"))
    with pytest.raises(ValueError, match="both keep and drop"):
        replace_files(folder, {"README.md": b"x"}, drop=("README.md",))
    replace_files(folder, {}, drop=("README.md",))
    assert "README.md" not in verify_folder(folder)["files"] and not (folder / "README.md").exists()
    replace_files(folder, {"notes.txt": b"a file a weights folder does not own"})  # (a checkpoint would be kept)
    replace_files(folder, {}, drop=("notes.txt",))
    assert "notes.txt" not in verify_folder(folder)["files"] and not (folder / "notes.txt").exists()
