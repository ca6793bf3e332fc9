"""2-D maps of codes with more than two dimensions, computed when the weights are built, never on a
request (a cold UMAP fit takes over a minute on this CPU).

Two projections of a model's 10k test codes (N×d, d > 2), stored beside them in the weights folder
(``projections.safetensors.xz``):

- **PCA**: the two directions of largest variance; exact for new points (``pca_mean`` d and
  ``pca_components`` 2×d are stored: y = (z − mean)·Wᵀ; the test codes' map is computed so at read).
- **UMAP** (umap-learn): neighbourhoods kept, distances between far clusters not. A new point (a
  drawn digit) is placed by a documented stand-in for UMAP's own ``transform`` (which would need the
  fitted object, i.e. a pickle, never loaded here): the inverse-distance-weighted mean of the 2-D
  positions of its k nearest test codes — what UMAP's transform uses as its starting point.

``python -m aae_core.projections NAME … | all`` (re)computes them for the shipped models; the table
of shipped models runs it after ``pick``.
"""
from __future__ import annotations

import argparse
import lzma

import numpy as np
import torch

from aae_core.neighbours import nearest
from aae_core.weights import (PROJECTIONS, WeightsError, load_tensors, replace_files, save_bytes, stored_name,
                              verify_folder)

METHODS = {"umap": "UMAP", "pca": "PCA"}
UMAP_SETTINGS = {"n_neighbors": 15, "min_dist": 0.1, "metric": "euclidean"}


def pca(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N×2 projection, mean d, components 2×d) of codes N×d; signs fixed (largest loading positive)."""
    x = np.asarray(codes, dtype=np.float64)
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    comps = vt[:2]
    comps *= np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])[:, None]
    return ((x - mean) @ comps.T).astype(np.float32), mean.astype(np.float32), comps.astype(np.float32)


def umap(codes: np.ndarray, seed: int = 0) -> np.ndarray:
    """N×2 UMAP embedding of codes N×d (umap-learn, fixed seed: the same map on every build)."""
    try:
        from umap import UMAP
    except ImportError as exc:  # only needed to build maps; the app never imports it
        raise SystemExit("umap-learn is needed to build the maps: `make install`") from exc
    fit = UMAP(n_components=2, random_state=seed, n_jobs=1, **UMAP_SETTINGS)  # a seed means one thread anyway
    return fit.fit_transform(np.asarray(codes, dtype=np.float32)).astype(np.float32)


def place(new_codes: np.ndarray, codes: np.ndarray, positions: np.ndarray, k: int = 15) -> np.ndarray:
    """M×2 positions of new codes (M×d) on a map of ``codes`` (N×d) at ``positions`` (N×2): the
    inverse-distance-weighted mean of the positions of each new code's k nearest codes."""
    out = np.empty((len(new_codes), 2), dtype=np.float32)
    for i, z in enumerate(np.asarray(new_codes, dtype=np.float32)):
        idx = nearest(codes, z, k)
        w = 1.0 / (np.sqrt(((codes[idx] - z) ** 2).sum(axis=1)) + 1e-6)
        out[i] = (w[:, None] * positions[idx]).sum(axis=0) / w.sum()
    return out


def compute(codes: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Every stored array for codes N×d: pca N×2, pca_mean d, pca_components 2×d, umap N×2."""
    if codes.ndim != 2 or codes.shape[1] <= 2:
        raise ValueError(f"projections are for codes of more than 2 dimensions, got {codes.shape}")
    flat, mean, comps = pca(codes)
    return {"pca": flat, "pca_mean": mean, "pca_components": comps, "umap": umap(codes, seed)}


STORED = ("umap", "pca_mean", "pca_components")  # the PCA map itself is (codes − mean)·Wᵀ: computed at read


def write(folder, arrays: dict[str, np.ndarray]) -> None:
    """Store the projections in a verified weights folder: the UMAP map (float16) and the PCA basis
    (float32); the PCA map is recomputed from the codes at read."""
    tensors = {k: torch.from_numpy(arrays[k]).to(torch.float16 if k in METHODS else torch.float32).contiguous()
               for k in STORED}
    replace_files(folder, {PROJECTIONS: lzma.compress(save_bytes(tensors), preset=6)})


def read(folder, codes: np.ndarray) -> dict[str, np.ndarray] | None:
    """The projections of a verified folder's test codes (N×d) — the stored UMAP map and PCA basis,
    the PCA map from them (None if it has none) —, their shapes checked. A file of the first format
    (the PCA map stored too) is read as well."""
    manifest = verify_folder(folder)
    if stored_name(manifest, PROJECTIONS) is None:
        return None
    n_codes, dim = codes.shape
    data = {k: v.float().numpy() for k, v in load_tensors(folder, manifest, PROJECTIONS).items()}
    shapes = {"umap": (n_codes, 2), "pca_mean": (dim,), "pca_components": (2, dim)}
    if not set(shapes) <= set(data) <= set(shapes) | {"pca"} or any(data[k].shape != s for k, s in shapes.items()) \
            or data.get("pca", np.zeros((n_codes, 2))).shape != (n_codes, 2) \
            or not all(np.isfinite(v).all() for v in data.values()):
        raise WeightsError(f"{folder}/{PROJECTIONS}: expected {shapes}, finite")
    data["pca"] = ((np.asarray(codes, dtype=np.float32) - data["pca_mean"]) @ data["pca_components"].T).astype(np.float32)
    return data


def main(argv: list[str] | None = None) -> None:
    import aae_core

    ap = argparse.ArgumentParser(description="Compute the 2-D maps (PCA, UMAP) of shipped models with codes of more "
                                             "than 2 dimensions, into their weights folders.")
    ap.add_argument("names", nargs="+", help="shipped model names, or 'all'")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [n for n in aae_core.list_pretrained() if n != "mnist-test"] if args.names == ["all"] else args.names
    for name in names:
        data = aae_core.pretrained_codes(name)
        codes = data["codes"].numpy()
        if codes.shape[1] <= 2:
            print(f"{name}: {codes.shape[1]}-D codes, drawn as they are (no projection needed)")
            continue
        write(aae_core.PRETRAINED_DIR / name, compute(codes, args.seed))
        print(f"{name}: PCA and UMAP of {len(codes):,} {codes.shape[1]}-D codes written", flush=True)


if __name__ == "__main__":
    main()
