"""Cached loaders: each model, its test codes and the test set load once per server and are
shared by every session, so nothing here is ever mutated after loading."""
from __future__ import annotations

import logging
import os
import threading
import time

import numpy as np
import streamlit as st
import torch

import aae_core
from aae_core import latent, metrics, neighbours
from aae_core.card import Card
from app.helpers import share_on_own_component


LOG = logging.getLogger("aae_explorer")
# Every session's script runs in its own thread of this one process, and each decode is small: torch's
# own pool of intra-op threads would only make concurrent sessions fight over the cores (measured with
# `make bench-load`). One thread per decode; AAE_TORCH_THREADS=n to change it.
try:
    torch.set_num_threads(max(1, int(os.environ.get("AAE_TORCH_THREADS", "1"))))
except ValueError:
    LOG.warning("AAE_TORCH_THREADS must be a whole number; using 1 thread")
    torch.set_num_threads(1)


# 16 models stay loaded: every model the pages open by default, with room to spare. With 8, sessions
# going round the pages evicted and reloaded models, and each reload left the heap a little larger:
# `python -m app.bench_load memory --memory-sessions 30`, same machine and day, 8 slots: 487 MB after
# every page, then 494 / 502 / 536 MB after 10 / 20 / 30 sessions (~2 MB per session); 16 slots: 495 MB,
# then 534 / 532 / 527 MB (flat after the first ten sessions).
@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def model(name: str):
    """The model, loaded once per server for every session; the sixteen most recently used stay in memory.
    A folder that passes the survey but fails to load (a crafted weights file) raises a path-free error."""
    try:
        net = aae_core.load_pretrained(name).drop_training_networks()  # the app never trains a shipped model
        release_memory()  # the decompressed file, the 8-bit tensors and the discriminators: only for the load
        return net
    except aae_core.WeightsError as exc:
        LOG.error("refused the weights folder %s: %s", name, exc)
        raise aae_core.WeightsError(f"the model {name} could not be loaded: {path_free(str(exc), name)}") from None


@st.cache_resource(show_spinner=False)
def _survey() -> tuple[dict[str, Card], dict[str, str]]:
    """(card of every shipped model that passes the checks, {name: why} for every weights folder refused).
    One broken folder never takes the app down; the server's log keeps the full detail. No network
    is built here: each model loads when a page first asks for it."""
    good, refused = {}, {}
    for name in aae_core.list_pretrained():
        try:
            good[name] = Card.of(aae_core.pretrained_card(name))
        except aae_core.WeightsError as exc:
            LOG.error("refused the weights folder %s: %s", name, exc)
            refused[name] = path_free(str(exc), name)
    # Once per server, the long-lived objects now in place (modules, torch, plotly, the cards) go out of the
    # cyclic collector's reach (gc.freeze), so that its full passes stop rescanning them on every page rerun:
    # measured with `make bench`, one session, a slider round trip 193 → 81 ms (interpolation) and 184 → 78 ms
    # (styles), the trivial app's 100 ms. (Freezing again later would also freeze sessions' garbage.)
    import gc
    gc.collect()
    gc.freeze()
    return good, refused


def path_free(message: str, name: str) -> str:
    """A weights error as users may see it: the server's folders named by the model alone."""
    root = str(aae_core.PRETRAINED_DIR)
    message = message.replace(f"{root}/{name}", name).replace(root, "pretrained")
    return message.replace(str(aae_core.PRETRAINED_DIR.resolve()), "pretrained")


def cards(dataset: str | None = "mnist") -> dict[str, Card]:
    """The card of every shipped model trained on ``dataset`` (read from its verified weights folder;
    refused ones are left out). MNIST by default: the pages that offer a *Data set* choice (the latent
    map, VAE vs AAE) pass theirs, the others show MNIST; None: every data set."""
    return {n: c for n, c in _survey()[0].items() if dataset is None or (c.dataset or "mnist") == dataset}


def refused() -> dict[str, str]:
    """{model name: what is wrong with its weights folder, without server paths}."""
    return _survey()[1]


@st.cache_resource(show_spinner="Encoding the test set (once)…")
def _test_codes(name: str, _net=None) -> dict[str, np.ndarray]:
    """Everything the model's codes file holds, completed: codes N×d, labels N, q(y|x) N×K and the
    clusters' labels K where it has them — one encoder pass over the test set where not stored, with
    ``_net`` if the caller holds the network, else one loaded for the pass and not kept (a page that
    only draws codes never keeps a network in memory)."""
    data = aae_core.pretrained_codes(name, model=_net, test=lambda: test_images(dataset_of(name)).split)
    if _net is None:
        release_memory()
    return {k: v.numpy().astype(np.int64) if k == "labels" else v.numpy() for k, v in data.items()}


def codes(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The model's 10k test codes (N×d float32) and their digit labels (N int64), as cached."""
    data = _test_codes(name)
    return data["codes"], data["labels"]


def decoder_reads_label(name: str) -> bool:
    """Whether the model's decoder takes a label (or a cluster) beside z: then a point of its code
    space alone is not an image (read from its family, no network built)."""
    from aae_core.registry import get_model_class
    return get_model_class(cards(None)[name].model).label_input


class TestImages:
    """A data set's test images kept as bytes (7.8 MB, not 31 MB as float32) with their labels; indexing
    gives float32 in [0, 1]: ``images[i]`` → 784, ``images[[i, j]]`` → 2×784."""

    def __init__(self, split):  # a data.Split: images N×28×28 uint8, labels N
        self.split = split
        self.raw = split.images.reshape(len(split.images), -1)
        self.raw.flags.writeable = False  # shared by every session
        self.labels = split.labels

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, key) -> np.ndarray:
        return self.raw[key].astype(np.float32) / 255.0


@st.cache_resource(show_spinner="Loading the test set…")
def test_images(dataset: str = "mnist") -> TestImages:
    """A data set's test images (MNIST's ship; Fashion-MNIST's are read where installed, else a
    ``DataError`` says how to get them); indexing gives N×784 float32 in [0, 1]."""
    return TestImages(aae_core.load_test_set(dataset=dataset))


def test_images_if_any(dataset: str) -> tuple[TestImages | None, str]:
    """(the data set's test images, "") or (None, why they are not on this machine)."""
    from aae_core.data import DataError
    try:
        return test_images(dataset), ""
    except DataError as exc:
        return None, str(exc)


def dataset_of(name: str) -> str:
    """The data set a shipped model was trained on ("mnist", "fashion-mnist")."""
    return cards(None)[name].dataset or "mnist"


@st.cache_resource(show_spinner=False)
def extent(name: str, widen: bool = False) -> tuple[float, float]:
    """A square plotting range: the prior's (where the codes should lie); ``widen`` also takes in
    all but the most extreme 0.1 % of the test codes on each side."""
    if not model(name).prior_matched:  # no prior to frame the codes (plain, denoising, contractive AE): their own range
        c, _ = codes(name)
        return float(np.quantile(c, 0.001 if widen else 0.005)), float(np.quantile(c, 0.999 if widen else 0.995))
    lo, hi = model(name).map_extent()
    if widen:
        c, _ = codes(name)
        lo, hi = min(lo, float(np.quantile(c, 0.001))), max(hi, float(np.quantile(c, 0.999)))
    return lo, hi


@st.cache_resource(show_spinner=False)
def density(name: str, widen: bool = False, extent_: tuple[float, float] | None = None):
    """The prior's density on a grid over the view (axis, density) and the levels that enclose
    50, 90 and 99 % of its mass, for contour lines; None for a model with no prior to match."""
    if not model(name).prior_matched:
        return None  # a reference prior the model never saw: not drawn
    lo, hi = extent_ or extent(name, widen)
    return contours(model(name).prior, lo, hi)


def contours(prior, lo: float, hi: float, n: int = 120):
    """A prior's density on an n×n grid over [lo, hi]² and its 50/90/99 % levels: what latent_figure draws."""
    return (*latent.density_grid(prior, lo, hi, n), latent.hdr_levels(prior))


@st.cache_resource(show_spinner="Decoding the manifold…", max_entries=64)
def manifold_png(name: str, n: int, widen: bool = False) -> bytes:
    """The decoder's output on an n×n grid over the view, as PNG bytes. Bounded: a class moving the grid
    slider over every model could otherwise keep 26 models × 26 sizes × 2 views (up to 0.34 MB each)."""
    lo, hi = extent(name, widen)
    return latent.png_bytes(latent.decode_grid(model(name), lo, hi, n), size=28 * n * 2)


def decode(name: str, z: np.ndarray) -> np.ndarray:
    """z: N×d → N×784 in [0, 1]."""
    with torch.no_grad():
        return model(name).decode(torch.as_tensor(z, dtype=torch.float32)).numpy()


@st.cache_data(show_spinner=False, max_entries=256)
def walk(name: str, a: int, b: int, method: str, n: int) -> np.ndarray:
    """n frames (n×784) decoded along the path from test code a to test code b: shared by every session,
    so a class opening the same pair decodes it once."""
    c, _ = codes(name)
    za, zb = torch.from_numpy(c[a]), torch.from_numpy(c[b])
    ts = torch.linspace(0, 1, n)
    return decode(name, latent.interpolate(za, zb, ts, method).numpy())


def reconstruct(name: str, x: np.ndarray) -> np.ndarray:
    """x: N×784 → N×784 reconstructions."""
    m = model(name)
    with torch.no_grad():
        return torch.sigmoid(m.reconstruct_logits(torch.as_tensor(x))).numpy()


def categorical(name: str) -> dict[str, np.ndarray]:
    """q(y|x) of the 10k test images (N×K) and, for unsupervised models, each cluster's label by the
    paper's and the majority rule (K), as shipped with the model's test codes."""
    return {k: v for k, v in _test_codes(name).items() if k not in ("codes", "labels")}


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


AGREEMENT_QUERIES = np.random.default_rng(0).choice(10_000, 300, replace=False)  # the same 300 test digits for every space


@st.cache_resource(show_spinner=False)
def code_agreement(name: str, k: int) -> float:
    """Share of the k nearest test codes that carry the query's label, over 300 fixed test digits."""
    c, labels = codes(name)
    return neighbours.label_agreement(c, labels, AGREEMENT_QUERIES, k)


@st.cache_resource(show_spinner="Measuring the pixel space once…")
def pixel_agreement(k: int) -> float:
    """The same share for the 784 raw pixels (the baseline every code is compared with)."""
    images = test_images()
    return neighbours.label_agreement(images.raw, images.labels, AGREEMENT_QUERIES, k)


@st.cache_resource(show_spinner=False)
def projection(name: str) -> dict[str, np.ndarray] | None:
    """The model's stored 2-D maps of its test codes ({'umap', 'pca': N×2, 'pca_mean', 'pca_components'}),
    computed when its weights were built; None for a folder without them."""
    from aae_core import projections
    c, _ = codes(name)
    return projections.read(aae_core.PRETRAINED_DIR / name, c)


@st.cache_resource(show_spinner="Building the model zoo (once)…", max_entries=32)
def zoo_panel(name: str):
    """One model's zoo panel (aae_core.zoo.Panel), computed once per server: the model is loaded for it
    and not kept, so the zoo never holds every network in memory."""
    from aae_core import zoo
    images = test_images()
    idx = zoo.first_of_each_digit(images.labels)
    net = aae_core.load_pretrained(name)
    _test_codes(name, _net=net)  # the codes from this network if they are not cached yet: one load, not two
    c, labels = codes(name)
    panel = zoo.panel(net, torch.from_numpy(images[idx]), images.labels[idx].astype(np.int64), c, labels,
                      projection(name) if c.shape[1] > 2 else None)
    del net
    release_memory()
    return panel


def release_memory(collect: bool = True) -> bool:
    """Hand freed heap back to the system (glibc keeps it otherwise): after a network loaded only for a
    moment, so that the server's footprint does not keep its high-water mark. Returns whether the C
    allocator could be asked (glibc)."""
    import ctypes
    import gc

    if collect:
        gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        return True
    except (OSError, AttributeError):  # not glibc: nothing to do
        return False


TRIM_EVERY_S = 20.0


@st.cache_resource(show_spinner=False)
def memory_trimmer() -> threading.Thread:
    """One thread per server that hands the C allocator's freed pages back to the system every
    ``TRIM_EVERY_S`` seconds: sessions come and go, and what their runs freed (images, figures,
    messages) otherwise stays resident as fragmentation (measured: +24 MB over 20 sessions,
    docs/bench-memory-trace-2026-11-26.md). No collector pass here: that stays on the sessions' threads."""
    def trim_forever() -> None:
        while release_memory(collect=False):
            time.sleep(TRIM_EVERY_S)

    thread = threading.Thread(target=trim_forever, daemon=True, name="aae-malloc-trim")
    thread.start()
    return thread


@st.cache_data(show_spinner="Measuring over 500 test digits…", max_entries=32)
def recovery(name: str, kind: str, levels: tuple[float, ...]) -> list[float]:
    """aae_core.corrupt.recovery_curve of the model over the first 500 test digits."""
    from aae_core.corrupt import recovery_curve
    return recovery_curve(model(name), torch.from_numpy(test_images()[:500]), kind, levels)


@st.cache_data(show_spinner="Measuring over 500 test digits…", max_entries=32)
def digit_kept(name: str, kind: str, levels: tuple[float, ...]) -> list[float]:
    """aae_core.corrupt.digit_kept of the model: the first 500 test digits, corrupted, against the clean
    codes of the other 9,500."""
    from aae_core.corrupt import digit_kept as measure
    c, labels = codes(name)
    return measure(model(name), torch.from_numpy(test_images()[:500]), labels[:500].astype(np.int64), c[500:],
                   labels[500:].astype(np.int64), kind, levels)


# -- numpy in, numpy out: the pages never touch torch ---------------------------------------------------
def encode(name: str, x: np.ndarray) -> np.ndarray:
    """x: N×784 in [0, 1] → N×d codes."""
    with torch.no_grad():
        return model(name).encode(torch.as_tensor(x, dtype=torch.float32)).numpy()


def classify(name: str, x: np.ndarray) -> np.ndarray:
    """x: N×784 → N×K class probabilities q(y|x)."""
    with torch.no_grad():
        return model(name).classify(torch.as_tensor(x, dtype=torch.float32)).numpy()


def samples(name: str, n: int, seed: int = 0) -> np.ndarray:
    """n images (n×784) decoded from the model's prior samples, seeded."""
    return model(name).sample(n, torch.Generator().manual_seed(seed)).numpy()


def prior_codes(name: str, n: int, seed: int = 0) -> np.ndarray:
    """n samples of the model's prior (n×d), seeded."""
    return model(name).prior.sample(n, torch.Generator().manual_seed(seed))[0].numpy()


def path(za: np.ndarray, zb: np.ndarray, n: int, method: str) -> np.ndarray:
    """n points (n×d) from code za to code zb, t = 0 … 1 (aae_core.latent.interpolate)."""
    return latent.interpolate(torch.as_tensor(za), torch.as_tensor(zb), torch.linspace(0, 1, n), method).numpy()


def path_point(za: np.ndarray, zb: np.ndarray, t: float, method: str) -> np.ndarray:
    """The point at fraction t of the path from za to zb: d."""
    return latent.interpolate(torch.as_tensor(za), torch.as_tensor(zb), t, method)[0].numpy()


def corrupted(x: np.ndarray, kind: str, level: float, seed: int) -> np.ndarray:
    """x: N×784 corrupted by ``kind`` at ``level`` (aae_core.corrupt), seeded."""
    from aae_core.corrupt import corrupt
    return corrupt(torch.as_tensor(x), kind, level, torch.Generator().manual_seed(seed)).numpy()


def cluster_sizes(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Each cluster's number of test images and purity (aae_core.metrics.cluster_purity)."""
    probs, (_, labels) = categorical(name)["probs"], codes(name)
    return metrics.cluster_purity(torch.from_numpy(probs), labels)


# -- the live trainer ---------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def live_pool():
    """The one worker process every session's live run trains in (aae_core.live.LivePool), started
    on first use: the runs share one core and never hold the web server's interpreter."""
    from aae_core.live import LivePool
    return LivePool()


@st.cache_resource(show_spinner=False)
def prior_outlines(prior_name: str) -> list[tuple[list[np.ndarray], str]]:
    """A 2-D prior's 50 / 90 / 99 % contours over its plotting range as polylines, with their dash
    patterns (``helpers.map_svg``'s outlines): computed once per server."""
    from app.helpers import OUTLINE_DASH

    prior, (lo, hi) = prior_view(prior_name)
    axis, dens = latent.density_grid(prior, lo, hi, 100)
    return [(lines, OUTLINE_DASH[mass]) for mass, lines in latent.outline_lines(axis, dens, latent.hdr_levels(prior)).items()]


@st.cache_resource(show_spinner=False)
def prior_view(prior_name: str):
    """A 2-D prior by name and its square plotting range (for the live trainer)."""
    from aae_core.priors import build_prior
    prior = build_prior({"name": prior_name, "dim": 2})
    return prior, prior.extent()


@st.cache_resource(show_spinner="Exporting the decoder for your browser…", max_entries=8)
def decoder_onnx(name: str) -> bytes:
    """The model's decoder as ONNX bytes (``aae_core.export``), made once per server."""
    from aae_core.export import decoder_onnx as export
    return export(model(name))


@st.cache_resource(show_spinner=False, max_entries=8)
def browser_map(name: str, view: str, y_source: str) -> dict:
    """The in-browser decoder's arguments for one model, map view and label source (shared by every
    session, never mutated): the test codes, the map, the images shown on hover and the ONNX decoder."""
    from aae_core import browser_map as bm
    c, labels = codes(name)
    net = model(name)
    proj = projection(name) if c.shape[1] > 2 else None
    extent_ = extent(name) if view == "plane" else None
    view_ = bm.map_view(c, view, proj, extent_)
    probs = categorical(name).get("probs") if y_source == "nearest" else None
    k = net.n_classes if net.label_input else 0
    return bm.payload(view_, c, labels, test_image_bytes(), k=k, y_source=y_source, probs=probs,
                      key=f"{name}/{view}/{y_source}", onnx=decoder_onnx(name),
                      outlines=prior_outlines_json(name) if view == "plane" else None)


@st.cache_resource(show_spinner=False)
def test_image_bytes() -> bytes:
    """The test images as one bytes object (7.8 MB), shared by every in-browser map."""
    return test_images().raw.tobytes()


def prior_outlines_json(name: str, widen: bool = False) -> str | None:
    """The model's prior as the map component's outlines (50 / 90 / 99 % of its mass over the view;
    ``browser_map.outlines_json``), or None for a model with no prior to match."""
    from aae_core import browser_map as bm
    dens = density(name, widen)
    if dens is None:
        return None
    return bm.outlines_json(latent.outline_lines(*dens))


@st.cache_resource(show_spinner=False, max_entries=32)
def select_map(name: str, view: str, lo: float, hi: float, outlines: bool = False, widen: bool = False,
               names: tuple[str, ...] | None = None) -> dict:
    """The latent map's arguments in select mode (``browser_map.select_payload``; shared by every
    session, never mutated). ``view``: "plane" (the 2-D codes; empty space decodes), "code" (2-D codes
    whose decoder also needs a label: dots only), "umap" or "pca" (a stored projection of longer codes);
    the square frame [lo, hi]²; ``outlines``: the prior's 50 / 90 / 99 % contours over it (``widen`` as
    for ``density``); ``names``: the classes' names where they are not digits."""
    from aae_core import browser_map as bm
    c, labels = codes(name)
    points = c if view in ("plane", "code") else projection(name)[view]
    text = prior_outlines_json(name, widen) if outlines and view == "plane" else None
    return bm.select_payload(points, labels, (lo, hi, lo, hi), bm.AXES[view], key=f"{name}/{view}/{lo:.5g}/{hi:.5g}/{text is not None}",
                             spots=view == "plane", names=names, outlines=text)


@st.cache_resource(show_spinner=False, max_entries=32)
def members_map(name: str, k: int) -> dict:
    """The clusters page's map, to look at (``browser_map.select_payload`` without tools): every test
    digit's style code on the model's UMAP map, grey, and cluster ``k``'s members (by q(y|x)) over them
    in their true digits' colours."""
    from aae_core import browser_map as bm
    _, labels = codes(name)
    xy = projection(name)["umap"]
    members = categorical(name)["probs"].argmax(1) == k
    lo, hi = bm.spread(xy)
    return bm.select_payload(xy, labels, (lo, hi, lo, hi), bm.AXES["umap"], key=f"{name}/members/{k}", spots=False,
                             faint=~members, size=520, tools=False)
