"""Widgets shared by several pages."""
from __future__ import annotations

import base64

import numpy as np
import streamlit as st

from aae_core import latent
from aae_core.data import CLASS_NAMES, DATASET_NAMES

from app import resources
from app.helpers import (choose, clamp_int, fair_sample, literal, metric_summary, model_label, models_for,
                         parse_floats, table_csv, table_html)


def seed_from_url(param: str, options: list, key: str) -> None:
    """Before a widget with ``key`` first renders, take its value from the URL (?param=…); a value
    that is not among ``options`` is ignored with a visible note."""
    if key not in st.session_state:
        chosen, note = choose(st.query_params.get(param), options, options[0],
                              resources.refused() if param == "model" else None)
        if note:
            st.info(note)
        st.session_state[key] = chosen


def dataset_choice(key: str, offered: list[str]) -> str:
    """A *Data set* radio (its choice also in the URL, ?data=…) among ``offered`` (data set ids), shown
    only when there is a choice; for a data set whose labels are not digits, a line saying what it is."""
    if len(offered) == 1:
        return offered[0]
    seed_from_url("data", offered, key)
    dataset = st.radio("Data set", offered, horizontal=True, key=key, format_func=DATASET_NAMES.get)
    st.query_params["data"] = dataset
    if dataset in CLASS_NAMES:
        st.caption(f"{DATASET_NAMES[dataset]}: 70,000 28×28 grey images of clothes in 10 classes, MNIST's format "
                   "(Zalando's drop-in replacement) — labels " + ", ".join(
                       f"{i} {n}" for i, n in enumerate(CLASS_NAMES[dataset])) + ". Its test images do not ship "
                   "(4.4 MB); their codes do, computed when the weights were built.")
    return dataset


def model_picker(label: str = "Model", latent_dim: int | None = 2, key: str = "model",
                 families: tuple[str, ...] | None = None, preferred: str | None = None,
                 exclude: tuple[str, ...] = (), dataset: str = "mnist") -> str | None:
    """A model selectbox whose choice also lives in the URL (?model=…); a bad URL value is ignored
    with a visible note. Offers the shipped models of ``dataset`` of the given families (default:
    every model that decodes a code alone) with the given code size."""
    cards = resources.cards(dataset)
    options = [n for n in models_for(cards, latent_dim, families) if n not in exclude]
    if preferred in options:  # offered first, so it is the default
        options.remove(preferred)
        options.insert(0, preferred)
    if not options:
        st.warning("No shipped model fits this page.")
        return None
    if st.session_state.get(key) not in (None, *options):  # chosen among another data set's models
        del st.session_state[key]
    seed_from_url("model", options, key)
    name = st.selectbox(label, options, key=key, format_func=lambda n: model_label(n, cards[n]))
    st.query_params["model"] = name
    return name


def model_numbers(name: str) -> None:
    """One line of the shipped model's measured test numbers and how it was trained."""
    card = resources.cards(None)[name]
    pairs = metric_summary(card)
    runs = (f"; one of {card.n_seeds} seeds, their mean ± std on *Paper vs ours*" if card.n_seeds > 1
            else "; one seed, no ± over runs")
    asked = f" ({card.epochs} asked, the time budget ran out)" if card.epochs_run != card.epochs else ""
    trained = (f"epoch {card.selected_epoch or card.epochs_run} of {card.epochs_run}{asked}, "
               f"{(card.wall_s or 0) / 60:.0f} min on {card.hardware or '?'}")
    st.caption(f"Measured on the 10,000 {DATASET_NAMES.get(card.dataset or 'mnist', card.dataset)} test images: "
               + " · ".join(f"{k} **{v}**" for k, v in pairs)
               + f" — trained {trained}{runs}; {card.data}.")


def number_from_url(param: str, key: str, lo: float, hi: float, default: float, integer: bool = False) -> None:
    """Before a number widget with ``key`` first renders, take its value from the URL (?param=…),
    clamped to [lo, hi]; a malformed value is ignored. Either way with a visible note."""
    if key in st.session_state:
        return
    raw = st.query_params.get(param)
    value, note = default, None
    if raw is not None:
        if integer:
            value, note = clamp_int(raw, int(lo), int(hi), int(default))
        else:
            values, note = parse_floats(raw, 1, lo, hi, default)
            value = values[0]
    if note:
        st.info(f"URL parameter {param}: {note}")
    st.session_state[key] = value


def safe_fragment(func=None, *, run_every: float | None = None):
    """``st.fragment`` whose errors are shown as a message, never a traceback (a fragment rerun on
    its own is outside the page-level guard of streamlit_app.py). ``run_every``: seconds between
    automatic reruns (None: only when its own widgets change)."""
    import functools

    if func is None:
        return lambda f: safe_fragment(f, run_every=run_every)

    @functools.wraps(func)
    def guarded(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # Streamlit's rerun/stop are BaseExceptions and pass through
            st.error("Something went wrong here: " + literal(f"{type(exc).__name__}: {exc}", 300))

    return st.fragment(guarded, run_every=run_every)


def selected_digits(name: str, indices, labels: np.ndarray, images) -> None:
    """Test digits selected on a map: how many (per digit), and a fair sample of 16 of them above their
    reconstructions D(E(x)) — or, where ``images`` is None (not on this machine), their codes decoded."""
    idx = np.array(fair_sample(indices, 16))
    counts = np.bincount(labels[list(indices)], minlength=10)
    st.markdown(f"**{len(indices):,} test digit(s) selected** ("
                + ", ".join(f"{c:,} × {d}" for d, c in enumerate(counts) if c) + ")"
                + (f"; a random sample of {len(idx)} of them:" if len(idx) < len(indices) else ":")
                + " " + ", ".join(f"#{i} (label {labels[i]})" for i in idx))
    if images is None:  # a data set whose test images are not on this machine: their codes, decoded
        z = resources.codes(name)[0][idx]
        picture(latent.tile(resources.decode(name, z), 1, len(idx), pad=2), min(900, 90 * len(idx)),
                "their codes decoded, D(z) (the test images themselves are not on this machine)",
                f"selection-{name}.png")
        return
    originals = images[idx]
    picture(latent.tile(np.concatenate([originals, resources.reconstruct(name, originals)]), 2, len(idx), pad=2),
            min(900, 90 * len(idx)), "top: the test images · bottom: their reconstructions D(E(x))",
            f"selection-{name}.png")


PRESENT_SCALE = 2  # presentation mode: every picture twice as large, for a projector


def presenting() -> bool:
    return bool(st.session_state.get("present"))


INLINE_PNG_MAX = 8_192  # bytes


def picture(image: np.ndarray, size: int, caption: str, file_name: str, where=None, stretch: bool = False,
            save: bool = True) -> None:
    """A uint8 image (a digit, a strip, a sheet, a manifold) drawn with sharp pixels about ``size`` px on
    its longer side (twice that in presentation mode), with a button under it to save it as a PNG.
    ``where``: a column or container (default: the page)."""
    where = where or st
    png = latent.png_bytes(image, size=size * (PRESENT_SCALE if presenting() else 1))
    # A small picture travels inside the page's message, not as a request of its own (a click on a map
    # brings two or three; ten browsers clicking at once would ask the server for thirty).
    src = "data:image/png;base64," + base64.b64encode(png).decode() if len(png) <= INLINE_PNG_MAX else png
    where.image(src, caption=caption, output_format="PNG", width="stretch" if stretch else "content")
    if save:
        where.download_button("PNG", png, file_name=file_name, mime="image/png", on_click="ignore",
                              icon=":material/download:", key=f"png-{file_name}", help="Save this picture as a PNG file")


def table(rows: list[dict], file_name: str) -> None:
    """A table of rows (column → displayed value) as escaped HTML that scrolls in its own box, with a
    button under it to save the same rows as CSV."""
    st.markdown(table_html(rows), unsafe_allow_html=True)  # every value escaped by table_html
    st.download_button("CSV", table_csv(rows), file_name=file_name, mime="text/csv", on_click="ignore",
                       icon=":material/download:", key=f"csv-{file_name}", help="Save this table as a CSV file")
