"""Cached loaders: each model, its test codes and the test set load once per server and are
shared by every session, so nothing here is ever mutated after loading."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

import aae_core
from aae_core import latent
from app.helpers import share_on_own_component


@st.cache_resource(show_spinner="Loading the model…")
def model(name: str):
    return aae_core.load_pretrained(name)


@st.cache_resource(show_spinner=False)
def cards() -> dict[str, dict]:
    """Every shipped model's card (read from its verified weights folder)."""
    out = {}
    for name in aae_core.list_pretrained():
        try:
            out[name] = model(name).card
        except aae_core.WeightsError as exc:  # one broken folder must not take the app down
            st.error(f"The shipped model {name!r} was refused: {exc}")
    return out


@st.cache_resource(show_spinner=False)
def codes(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The model's 10k test codes (N×d float32) and their digit labels (N)."""
    data = aae_core.pretrained_codes(name)
    return data["codes"].numpy(), data["labels"].numpy().astype(np.int64)


@st.cache_resource(show_spinner="Loading the MNIST test set…")
def test_images() -> np.ndarray:
    """The shipped MNIST test images as N×784 float32 in [0, 1]."""
    return aae_core.load_test_set().flat_float()


@st.cache_resource(show_spinner=False)
def extent(name: str) -> tuple[float, float]:
    """A square plotting range holding the prior's mass and the test codes."""
    lo, hi = model(name).prior.extent()
    c, _ = codes(name)
    lo, hi = min(lo, float(np.quantile(c, 0.001))), max(hi, float(np.quantile(c, 0.999)))
    return lo, hi


@st.cache_resource(show_spinner=False)
def density(name: str) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = extent(name)
    return latent.density_grid(model(name).prior, lo, hi)


@st.cache_resource(show_spinner="Decoding the manifold…")
def manifold_png(name: str, n: int) -> bytes:
    lo, hi = extent(name)
    return latent.png_bytes(latent.decode_grid(model(name), lo, hi, n), size=28 * n * 2)


def decode(name: str, z: np.ndarray) -> np.ndarray:
    """z: N×d → N×784 in [0, 1]."""
    with torch.no_grad():
        return model(name).decode(torch.as_tensor(z, dtype=torch.float32)).numpy()


def reconstruct(name: str, x: np.ndarray) -> np.ndarray:
    """x: N×784 → N×784 reconstructions."""
    m = model(name)
    with torch.no_grad():
        return torch.sigmoid(m.reconstruct_logits(torch.as_tensor(x))).numpy()


@st.cache_resource(show_spinner=False)
def categorical(name: str) -> dict[str, np.ndarray]:
    """q(y|x) of the 10k test images (N×K) and, for unsupervised models, each cluster's label by the
    paper's and the majority rule (K), as shipped with the model's test codes."""
    data = aae_core.pretrained_codes(name)
    return {k: v.numpy() for k, v in data.items() if k not in ("codes", "labels")}


def decode_labelled(name: str, z: np.ndarray, labels) -> np.ndarray:
    """z: N×d with labels (int, N ints or N×K) → N×784 in [0, 1] (models whose decoder reads a label)."""
    with torch.no_grad():
        return model(name).decode(torch.as_tensor(z, dtype=torch.float32), torch.as_tensor(labels)).numpy()


def style_sheet(name: str, z: np.ndarray) -> np.ndarray:
    """Styles z (S×d) written as every digit: (S·K)×784."""
    return latent.style_sheet(model(name), torch.as_tensor(z, dtype=torch.float32)).numpy()


@st.cache_resource(show_spinner=False)
def own_component_share(name: str) -> float:
    """Share of the test codes nearest to their own digit's prior component (computed once)."""
    c, labels = codes(name)
    return share_on_own_component(c, labels, model(name).prior)
