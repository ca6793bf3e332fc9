"""2-D maps of codes above 2-D: PCA against its definition, UMAP's determinism, the stand-in for
placing a new point, and the stored file's round trip and checks."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import aae_core
from aae_core import projections
from aae_core.weights import WeightsError, verify_folder


def blobs(n=300, d=8, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (3, d))
    labels = rng.integers(0, 3, n)
    return (centres[labels] + rng.normal(0, 1, (n, d))).astype(np.float32), labels


def test_pca_is_the_projection_on_the_two_largest_variance_directions():
    x, _ = blobs()
    flat, mean, comps = projections.pca(x)
    np.testing.assert_allclose(comps @ comps.T, np.eye(2), atol=1e-5)
    np.testing.assert_allclose(flat, (x - mean) @ comps.T, atol=1e-4)
    cov = np.cov(x - mean, rowvar=False)
    top = np.sort(np.linalg.eigvalsh(cov))[::-1][:2]
    np.testing.assert_allclose(np.var(flat, axis=0, ddof=1), top, rtol=1e-4)
    assert np.var(flat[:, 0]) >= np.var(flat[:, 1])


def test_umap_is_the_same_map_on_every_build_and_keeps_the_blobs_apart():
    x, labels = blobs()
    a, b = projections.umap(x, seed=0), projections.umap(x, seed=0)
    assert a.shape == (300, 2) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    from aae_core.neighbours import label_agreement
    assert label_agreement(a, labels, np.arange(50), 10) > 0.95


def test_a_new_point_lands_among_its_nearest_codes():
    x, _ = blobs()
    pos = np.random.default_rng(1).normal(size=(len(x), 2)).astype(np.float32)
    np.testing.assert_allclose(projections.place(x[:5], x, pos), pos[:5], atol=1e-3)  # a code itself: its own spot
    between = projections.place((x[[0]] + x[[1]]) / 2 + 1000, x, pos)  # far away: a weighted mean, inside the map
    assert (pos.min(0) <= between[0]).all() and (between[0] <= pos.max(0)).all()


def test_projections_are_stored_in_the_weights_folder_and_checked(tmp_path):
    folder = tmp_path / "aae-gaussian-8d"
    shutil.copytree(aae_core.PRETRAINED_DIR / "aae-gaussian-8d", folder)
    for stale in ("projections.safetensors.xz",):
        if (folder / stale).exists():  # the shipped folder may already hold them: start without
            (folder / stale).unlink()
    from aae_core.weights import write_manifest, read_json
    manifest = read_json(folder / "manifest.json")
    write_manifest(folder, [f for f in manifest["files"] if f != "projections.safetensors.xz"],
                   {k: v for k, v in manifest.items() if k not in ("files", "format")})
    x, _ = blobs(10_000, 8)
    assert projections.read(folder, x) is None
    flat, mean, comps = projections.pca(x)
    arrays = {"pca": flat, "pca_mean": mean, "pca_components": comps, "umap": flat[:, ::-1].copy()}
    projections.write(folder, arrays)
    verify_folder(folder)  # the manifest lists the new file, hashed
    from aae_core.weights import load_tensors
    assert set(load_tensors(folder, verify_folder(folder), "projections.safetensors.xz")) == set(projections.STORED)
    back = projections.read(folder, x)
    np.testing.assert_allclose(back["pca"], flat, rtol=1e-5, atol=1e-4)  # computed from the codes at read
    np.testing.assert_allclose(back["umap"], flat[:, ::-1], rtol=1e-2, atol=1e-2)  # stored in float16
    np.testing.assert_array_equal(back["pca_components"], comps)
    assert aae_core.load_model(folder).latent_dim == 8  # the model still loads
    with pytest.raises(WeightsError, match="expected"):
        projections.read(folder, x[:9_999])
    with pytest.raises(WeightsError, match="expected"):
        projections.read(folder, x[:, :7])
    with pytest.raises(ValueError, match="more than 2"):
        projections.compute(x[:, :2])


def test_a_projections_file_of_the_first_format_with_the_pca_map_stored_is_still_read(tmp_path):
    import lzma

    import torch
    from aae_core.weights import replace_files, save_bytes
    folder = tmp_path / "m"
    shutil.copytree(aae_core.PRETRAINED_DIR / "aae-gaussian-8d", folder)
    x, _ = blobs(10_000, 8)
    flat, mean, comps = projections.pca(x)
    old = {"pca": flat, "umap": flat.copy(), "pca_mean": mean, "pca_components": comps}
    replace_files(folder, {"projections.safetensors.xz": lzma.compress(save_bytes(
        {k: torch.from_numpy(v).contiguous() for k, v in old.items()}))})
    np.testing.assert_allclose(projections.read(folder, x)["pca"], flat, rtol=1e-5, atol=1e-4)


def test_a_drawn_digit_is_placed_on_the_shipped_umap_map_next_to_its_twin():
    """The draw page's placement: a code equal to test code i lands on test code i's UMAP spot;
    2-D codes are drawn as they are."""
    from app import resources
    from app.projected_map import place_on_map

    codes, _ = resources.codes("semi-aae-100")
    xy, point, view, axes, note = place_on_map("semi-aae-100", codes, codes[5])
    np.testing.assert_allclose(point, resources.projection("semi-aae-100")["umap"][5], atol=1e-2)
    assert axes == ("UMAP 1", "UMAP 2") and "nearest test codes" in note and xy.shape == (10_000, 2)
    flat, _ = resources.codes("aae-gaussian-2d")
    xy, point, view, axes, note = place_on_map("aae-gaussian-2d", flat, flat[3])
    assert xy is flat and np.array_equal(point, flat[3]) and axes == ("z₁", "z₂") and note == ""
    assert view == resources.extent("aae-gaussian-2d")  # a plane that decodes: the prior's range
