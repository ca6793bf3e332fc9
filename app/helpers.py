"""The app's logic, kept out of the page files so that it can be tested without a browser:
figure builders, selection handling and input validation."""
from __future__ import annotations

import base64
import html
import re

import numpy as np
import plotly.graph_objects as go

from aae_core.card import Card

# Plotly's qualitative palette (D3 category10): one colour per digit, shared by every page.
DIGIT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def model_label(name: str, card: Card | dict) -> str:
    """A readable name for a shipped model: 'AAE · mixture10 prior · 2-D (aae-mixture10-2d)'."""
    from aae_core.registry import MODELS

    card = Card.of(card)
    family = card.model or "?"
    matched = MODELS.get(family).prior_matched if family in MODELS.names() else True
    return (f"{family.upper()} · {f'{card.prior_name} prior' if matched else 'no prior'} · "
            f"{card.latent_dim or '?'}-D ({name})")


def models_for(cards: dict[str, Card | dict], latent_dim: int | None = 2,
               families: tuple[str, ...] | None = None) -> list[str]:
    """Shipped models a page can show: of the given families (default: those whose decoder reads the
    code alone, so any point of the map can be decoded) and, if given, with that code size."""
    from aae_core.registry import get_model_class

    def fits(card: Card) -> bool:
        try:
            cls = get_model_class(card.model)
        except KeyError:
            return False
        family_ok = card.model in families if families is not None else not cls.label_input
        return family_ok and (latent_dim is None or card.latent_dim == latent_dim)

    return [n for n, c in cards.items() if fits(Card.of(c))]


def literal(value, limit: int = 40) -> str:
    """Text from a user (a URL parameter, a file name) for a message that Streamlit renders as
    markdown: shown as itself and never as markup. It becomes a code span — inside one, markdown has
    no links, images, HTML, emphasis or maths — cut to ``limit`` characters, with line breaks and
    other invisible characters (NUL, bidirectional overrides) shown as �."""
    text = str(value)
    if not text.strip():
        return "(an empty value)"
    cut = len(text) > limit
    text = "".join(ch if ch.isprintable() else "\ufffd" for ch in text[:limit])
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] == "`" or text[-1:] == "`" or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}" + ("…" if cut else "")


def choose(value, options: list, default, refused: dict[str, str] | None = None):
    """Validate a value (e.g. a URL query parameter) against the allowed options.

    Returns (choice, note): the value when allowed, else ``default`` and a message for the user
    (which says why, when the value names a model that was ``refused``: {name: reason}).
    """
    if value is None or value in options:
        return (default if value is None else value), None
    if refused and value in refused:
        return default, f"The model {literal(value)} was refused: {literal(refused[value], 200)}. Showing {literal(default)} instead."
    return default, f"Ignored unknown value {literal(value)}; choose one of: {', '.join(map(str, options))}."


def clamp_int(value, lo: int, hi: int, default: int):
    """Parse an integer from user input and clamp it to [lo, hi]; returns (value, note)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default, f"{literal(value)} is not a whole number; using {default}."
    if number < lo or number > hi:
        clamped = min(max(number, lo), hi)
        return clamped, f"{number} is outside {lo}–{hi}; using {clamped}."
    return number, None


def prior_pairs(cards: dict[str, Card | dict]) -> dict[str, dict[str, str]]:
    """Priors for which both a 2-D AAE and a 2-D VAE ship, on exactly the same prior (its every setting)
    and the same networks (MLP widths): {prior name: {'aae': name, 'vae': name}}."""
    import json

    cards = {n: Card.of(c) for n, c in cards.items()}
    groups: dict[str, dict[str, str]] = {}
    for name, card in sorted(cards.items()):
        if card.latent_dim == 2 and card.model in ("aae", "vae") and card.arch == "mlp":
            key = json.dumps([card.prior, list(card.hidden)], sort_keys=True)
            groups.setdefault(key, {}).setdefault(card.model, name)
    return {cards[models["aae"]].prior_name: models for models in groups.values() if {"aae", "vae"} <= set(models)}


def closer_to_prior(metrics: dict[str, dict]) -> dict[str, str | None]:
    """Which of {"vae": metrics, "aae": metrics} matches the prior more closely by each measure
    ("prior_swd", "prior_mmd"; lower wins), None where a card lacks it."""
    out = {}
    for key in ("prior_swd", "prior_mmd"):
        values = {k: m.get(key) for k, m in metrics.items()}
        ok = all(v is not None and np.isfinite(v) for v in values.values())
        out[key] = min(values, key=values.get) if ok else None
    return out


def verdict(metrics: dict[str, dict]) -> str:
    """What the two prior-match measures say about {"vae": metrics, "aae": metrics}: the paper's
    claim (the AAE's aggregated posterior matches the prior more closely) stated only where both
    measures agree, and the disagreement said plainly where they do not."""
    by = closer_to_prior(metrics)
    by_swd, by_mmd = by["prior_swd"], by["prior_mmd"]
    if by_swd is None or by_mmd is None:
        return "These models' cards lack a prior-match measure; re-evaluate them to compare."
    if by_swd == by_mmd == "aae":
        return ("**As the paper says, the AAE's codes match p(z) more closely than the VAE's** on this prior, "
                "by both measures: the adversary shapes the *aggregated* posterior, while the VAE's KL term pulls "
                "each image's posterior toward p(z) and leaves the whole code distribution free to deviate.")
    if by_swd == by_mmd == "vae":
        return ("**Here the VAE's codes match p(z) more closely than the AAE's**, by both measures — the opposite of "
                "the paper's Figure 2: these AAE weights have not reached the paper's result.")
    return (f"The two measures disagree: the SWD prefers the {by_swd.upper()}, the MMD the {by_mmd.upper()}; "
            "neither model's codes match p(z) clearly better.")


def comparison_summary(cards: dict[str, Card | dict]) -> str:
    """One sentence on every prior that ships a 2-D VAE and AAE: which matches it more closely."""
    parts, winners = [], []
    for prior, names in sorted(prior_pairs(cards).items()):
        by = closer_to_prior({k: Card.of(cards[n]).metrics for k, n in names.items()})
        winner = by["prior_swd"] if by["prior_swd"] == by["prior_mmd"] else None
        winners.append(winner)
        parts.append(f"on the {prior} prior " + (f"the **{winner.upper()}**'s codes match it more closely (both measures)"
                                                  if winner else "the two prior-match measures disagree"))
    if not parts:
        return ""
    agree = all(w == "aae" for w in winners)
    return ("2-D VAE vs AAE: " + "; ".join(parts) + (" — as in the paper's Figure 2." if agree else
                                                        " — not everywhere what the paper's Figure 2 shows."))


def outside_share(codes: np.ndarray, lo: float, hi: float) -> float:
    """Fraction of the codes (N×2) outside the square [lo, hi]²."""
    return float((~((codes >= lo) & (codes <= hi)).all(axis=1)).mean())


PRIOR_LINE = {0.5: ("#222222", 2.2, "solid"), 0.9: ("#444444", 1.6, "dash"), 0.99: ("#666666", 1.2, "dot")}


def prior_contours(fig: go.Figure, density) -> None:
    """The prior as outlines: the contours enclosing 50 % (solid), 90 % (dashed) and 99 % (dotted)
    of its mass, drawn over the points so that they read at a glance even under 10,000 codes."""
    axis, dens, levels = density
    for i, (mass, level) in enumerate(sorted(levels.items())):
        color, width, dash = PRIOR_LINE.get(mass, ("#444444", 1.4, "solid"))
        fig.add_trace(go.Contour(
            x=axis, y=axis, z=dens, showscale=False, hoverinfo="skip", name=f"prior: {mass:.0%} of its mass",
            contours={"start": level, "end": level, "size": max(level, 1e-12), "coloring": "none"},
            line={"color": color, "width": width, "dash": dash}, showlegend=True,
            legendgroup="prior", legendgrouptitle_text="p(z)" if i == 0 else None))


def latent_figure(codes: np.ndarray, labels: np.ndarray, extent: tuple[float, float], *,
                  density=None, marker_size: int = 3, height: int = 600,
                  title: str | None = None, show_legend: bool = True, legend_below: bool = False,
                  class_names: tuple[str, ...] | None = None) -> go.Figure:
    """A 2-D map as a Plotly figure, for the pages that show a map beside their lesson (the Latent map
    page's own map to select from is the latent_canvas component): test codes (N×2) as a WebGL scatter
    coloured by digit, the prior as contour lines over them (``density``: axis, density grid, {mass:
    level}). ``legend_below``: the legend under the
    plot, so that side-by-side panels keep the same width and scale. ``class_names``: what the 10
    labels mean where they are not digits (Fashion-MNIST's clothes)."""
    fig = go.Figure()
    lo, hi = extent
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        shown = class_names[digit] if class_names else str(digit)
        fig.add_trace(go.Scattergl(
            x=codes[idx, 0], y=codes[idx, 1], mode="markers", name=shown, customdata=idx,
            marker={"size": marker_size, "color": DIGIT_COLORS[digit], "opacity": 0.75},
            # a selection: the chosen codes larger and opaque, the others faded but still readable
            selected={"marker": {"size": marker_size + 6, "opacity": 1.0}}, unselected={"marker": {"opacity": 0.35}},
            hovertemplate=f"{'' if class_names else 'digit '}{html.escape(shown)} · test image #%{{customdata}}"
                          "<br>z = (%{x:.2f}, %{y:.2f})<extra></extra>"))
    if density is not None:
        prior_contours(fig, density)
    legend = {"title": "class" if class_names else "digit", "itemsizing": "constant"}
    if legend_below:
        legend.update(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0)
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10}, title=title,
        showlegend=show_legend, legend=legend, dragmode="pan", uirevision="keep", plot_bgcolor="white")
    fig.update_xaxes(range=[lo, hi], title="z₁", zeroline=False, showgrid=False)
    fig.update_yaxes(range=[lo, hi], title="z₂", zeroline=False, showgrid=False, scaleanchor="x", scaleratio=1)
    return fig


def fair_sample(indices, k: int, seed: int = 0) -> list[int]:
    """At most k of the indices, drawn uniformly at random (seeded), in ascending order: a box
    around 5,000 codes shows a sample of all of them, not the first digits of the legend."""
    indices = list(indices)
    if len(indices) <= k:
        return indices
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(indices, size=k, replace=False))


def morph_html(frames: np.ndarray, ts: np.ndarray, size: int = 320) -> str:
    """A scrubber that morphs in the browser while its range input is dragged: one small page.

    frames: T×784 in [0, 1] decoded along the path, ts: the T path fractions. Every frame travels in
    the page as one sprite PNG (28 × 28·T pixels, drawn with sharp pixels at ``size``), so scrubbing
    needs no round trip to the server and no chart library: moving the input shifts the sprite.
    """
    from aae_core import latent

    if len(frames) != len(ts) or len(ts) < 2:
        raise ValueError(f"need one path fraction per frame and at least 2 frames, got {len(frames)} and {len(ts)}")
    sprite = latent.png_bytes(latent.tile(frames, len(frames), 1), size=28)  # (28·T)×28, native size
    src = "data:image/png;base64," + base64.b64encode(sprite).decode("ascii")
    labels = ",".join(f'"{t:.2f}"' for t in ts)
    last = len(ts) - 1
    return f"""<div style="font-family: sans-serif; font-size: 14px">
<div id="frame" role="img" aria-label="the decoded digit at t = {ts[0]:.2f}" style="width: {size}px; height: {size}px;
 background-image: url({src}); background-size: {size}px {size * len(ts)}px; background-position: 0 0;
 image-rendering: pixelated; border: 1px solid #ddd"></div>
<div style="display: flex; align-items: center; gap: 8px; width: {size}px; margin-top: 8px">
<button id="play" type="button" style="width: 74px">▶ play</button>
<input id="t" type="range" min="0" max="{last}" step="1" value="0" style="flex: 1; accent-color: #ff4b4b"
 aria-label="t along the path">
<span id="label" style="width: 64px">t = {ts[0]:.2f}</span></div>
<script>
const labels = [{labels}], frame = document.getElementById("frame"), input = document.getElementById("t");
const label = document.getElementById("label"), play = document.getElementById("play");
let timer = null, step = 1;
function show(k) {{
  input.value = k;
  frame.style.backgroundPosition = "0 " + (-k * {size}) + "px";
  label.textContent = "t = " + labels[k];
  frame.setAttribute("aria-label", "the decoded digit at t = " + labels[k]);
}}
input.addEventListener("input", () => show(Number(input.value)));
play.addEventListener("click", () => {{
  if (timer) {{ clearInterval(timer); timer = null; play.textContent = "▶ play"; return; }}
  play.textContent = "❚❚ pause";
  timer = setInterval(() => {{
    let k = Number(input.value) + step;
    if (k > {last} || k < 0) {{ step = -step; k += 2 * step; }}
    show(k);
  }}, 80);
}});
</script></div>"""


def parse_floats(text, n: int, lo: float, hi: float, default: float = 0.0) -> tuple[list[float], str | None]:
    """Parse n comma-separated numbers (a URL parameter) clamped to [lo, hi]; returns (values, note).

    Missing text gives n defaults silently; malformed text gives the defaults with a note; a wrong
    count is padded or cut, out-of-range values clamped, each with a note."""
    if text is None or text == "":
        return [default] * n, None
    parts = str(text)[:2000].split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        return [default] * n, f"Ignored the malformed value {literal(text)}: expected {n} numbers separated by commas."
    if not all(np.isfinite(values)):
        return [default] * n, "Ignored a value that is not a finite number."
    notes = []
    if len(values) != n:
        notes.append(f"expected {n} numbers, got {len(values)}")
        values = (values + [default] * n)[:n]
    clamped = [min(max(v, lo), hi) for v in values]
    if clamped != values:
        notes.append(f"values outside {lo:g}…{hi:g} were clamped")
    return [round(v, 2) for v in clamped], ("Adjusted the URL's values: " + "; ".join(notes) + ".") if notes else None


def metric_summary(card: Card | dict) -> list[tuple[str, str]]:
    """The measured test-set numbers of a shipped model, as (label, value) pairs for display."""
    from aae_core.metric_table import METRICS

    m = Card.of(card).metrics
    keys = ("error", "cluster_error_paper", "cluster_error_majority", "cond_prior_swd", "recon_bce", "knn5_accuracy",
            "parzen_ll")
    return [(METRICS[k].label, METRICS[k].show(m)) for k in keys if k in m]


def numbered_steps(n: int, k: int) -> list[int]:
    """Which of a walk's n steps carry a number: at most k of them, the first, the last and evenly between,
    so that the numbers never pile up (0-based, ascending)."""
    return sorted(set(np.linspace(0, n - 1, min(k, n)).round().astype(int).tolist()))


def add_path(fig: go.Figure, path: np.ndarray, name: str, color: str = "black", labels: int = 5) -> go.Figure:
    """Draw a walk (n×2 points) over a latent figure so that it reads on any background: a white halo
    under a dark line, markers ringed in white, and at most ``labels`` step numbers (``numbered_steps``)."""
    n = len(path)
    shown = set(numbered_steps(n, labels))
    text = [str(i + 1) if i in shown else "" for i in range(n)]
    fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines", line={"color": "white", "width": 8},
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers+text", name=name, text=text,
                             textposition="top center", textfont={"size": 14, "color": "black"},
                             line={"color": color, "width": 3},
                             marker={"size": 10, "color": color, "line": {"width": 2, "color": "white"}},
                             customdata=np.arange(1, n + 1),
                             hovertemplate="step %{customdata}: z = (%{x:.2f}, %{y:.2f})<extra></extra>"))
    return fig


def _nice_ticks(lo: float, hi: float, target: int = 6) -> np.ndarray:
    """Round tick values inside [lo, hi], about ``target`` of them, on steps of 1, 2 or 5 × 10^k."""
    raw = (hi - lo) / max(1, target)
    base = 10.0 ** np.floor(np.log10(raw))
    step = base * min((m for m in (1, 2, 5, 10) if m * base >= raw), default=10)
    return np.arange(np.ceil(lo / step) * step, hi + 1e-9, step)


def map_svg(codes: np.ndarray, labels: np.ndarray, extent: tuple[float, float], size: int = 380,
            outlines: list[tuple[list[np.ndarray], str]] | None = None, overlay=None) -> str:
    """A light, static latent map as one SVG: codes (N×2) as dots coloured by digit over square axes
    [lo, hi]² with round ticks, and a digit legend. ``outlines``: (polylines, each M×2 in data
    coordinates; SVG dash pattern or "") drawn over the dots — a prior's 50 / 90 / 99 % contours
    (``latent.contour_lines``); ``overlay(px)``: more SVG drawn on top, given the data → pixel map
    (N×2 → N×2, y up). No chart library runs in the browser: for a map that is context, or that is
    redrawn every few seconds, not a control."""
    lo, hi = extent
    if not hi > lo:
        raise ValueError(f"the extent must satisfy hi > lo, got {extent}")
    pad_l, pad_b, pad_t, pad_r = 44, 58, 10, 10
    span = size - pad_l - pad_r  # the plot is square: span × span pixels

    def px(z: np.ndarray) -> np.ndarray:  # N×2 codes → N×2 pixel positions (y up)
        unit = (np.asarray(z, dtype=float) - lo) / (hi - lo)
        return np.column_stack([pad_l + unit[:, 0] * span, pad_t + (1 - unit[:, 1]) * span])

    inside = np.all((codes >= lo) & (codes <= hi), axis=1)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.6" fill="{DIGIT_COLORS[int(d) % 10]}"/>'
                   for (x, y), d in zip(px(codes[inside]), labels[inside]))
    lines = ""
    for polylines, dash in outlines or []:
        path = "".join("M" + "L".join(f"{a:.1f} {b:.1f}" for a, b in px(line)) for line in polylines)
        lines += f'<path d="{path}" fill="none" stroke="black" stroke-width="1.2"' + (
            f' stroke-dasharray="{dash}"' if dash else "") + "/>"
    ticks = []
    for t in _nice_ticks(lo, hi):
        (x, y), = px(np.array([[t, t]]))
        ticks.append(f'<line x1="{x:.1f}" y1="{pad_t + span}" x2="{x:.1f}" y2="{pad_t + span + 4}" stroke="#444"/>'
                     f'<text x="{x:.1f}" y="{pad_t + span + 16}" text-anchor="middle">{t:g}</text>'
                     f'<line x1="{pad_l - 4}" y1="{y:.1f}" x2="{pad_l}" y2="{y:.1f}" stroke="#444"/>'
                     f'<text x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end">{t:g}</text>')
    legend = "".join(f'<circle cx="{pad_l + 46 + 28 * d}" cy="{pad_t + span + 48}" r="4" fill="{DIGIT_COLORS[d]}"/>'
                     f'<text x="{pad_l + 53 + 28 * d}" y="{pad_t + span + 52}">{d}</text>' for d in range(10))
    legend = f'<text x="{pad_l}" y="{pad_t + span + 52}">digit</text>{legend}'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{pad_t + span + pad_b}" '
            f'font-family="sans-serif" font-size="11" fill="#333">'
            f'<rect x="{pad_l}" y="{pad_t}" width="{span}" height="{span}" fill="white" stroke="#bbb"/>'
            f'<g fill-opacity="0.75">{dots}</g>{lines}{"".join(ticks)}{overlay(px) if overlay else ""}'
            f'<text x="{pad_l + span / 2:.1f}" y="{pad_t + span + 32}" text-anchor="middle" font-size="13">z₁</text>'
            f'<text x="12" y="{pad_t + span / 2:.1f}" text-anchor="middle" font-size="13" '
            f'transform="rotate(-90 12 {pad_t + span / 2:.1f})">z₂</text>{legend}</svg>')


def path_map_svg(codes: np.ndarray, labels: np.ndarray, extent: tuple[float, float], path: np.ndarray,
                 size: int = 380, step_labels: int = 2) -> str:
    """``map_svg`` with a walk on it: the walk (n×2) as a dark line on a white halo with ringed
    markers, ``step_labels`` steps numbered (``numbered_steps``: the first and the last by default)."""
    def walk_svg(px) -> str:
        walk = px(path)
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in walk)
        markers = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="black" stroke="white" stroke-width="2"/>'
                          for x, y in walk)
        numbers = "".join(f'<text x="{walk[i, 0]:.1f}" y="{walk[i, 1] - 10:.1f}" text-anchor="middle" font-size="14" '
                          f'font-weight="bold" stroke="white" stroke-width="3" paint-order="stroke">{i + 1}</text>'
                          for i in numbered_steps(len(walk), step_labels))
        return (f'<polyline points="{line}" fill="none" stroke="white" stroke-width="8"/>'
                f'<polyline points="{line}" fill="none" stroke="black" stroke-width="3"/>{markers}{numbers}')

    return map_svg(codes, labels, extent, size, overlay=walk_svg)


OUTLINE_DASH = {0.5: "", 0.9: "6 4", 0.99: "1.5 3"}  # the prior's 50 / 90 / 99 % contours: solid, dashed, dotted


def curves_svg(x: list[float], series: dict[str, list[float]], width: int = 420, height: int = 300,
               x_title: str = "epoch", y_title: str = "loss", reference: tuple[float, str] | None = None) -> str:
    """Line plots of named series over a shared x as one SVG (the live trainer's losses): rounded ticks,
    a legend, an optional dotted horizontal reference line with its label. Non-finite values are skipped."""
    pad_l, pad_r, pad_t, pad_b = 48, 12, 12, 78
    x = np.asarray(x, dtype=float)
    ys = {k: np.asarray(v, dtype=float) for k, v in series.items()}
    finite = [v[np.isfinite(v)] for v in ys.values()] + ([np.array([reference[0]])] if reference else [])
    values = np.concatenate(finite) if finite else np.zeros(0)
    if not len(x) or not len(values):
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
                f'font-size="12" fill="#666"><text x="{width / 2}" y="{height / 2}" text-anchor="middle">'
                "no losses yet</text></svg>")
    x0, x1 = float(x.min()), float(max(x.max(), x.min() + 1e-9))
    y0, y1 = float(min(values.min(), 0.0)), float(values.max())
    y1 = y1 if y1 > y0 else y0 + 1.0
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def px(xs, vs):
        return pad_l + (xs - x0) / (x1 - x0) * w, pad_t + (1 - (vs - y0) / (y1 - y0)) * h

    out = [f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="white" stroke="#bbb"/>']
    for t in _nice_ticks(y0, y1, 5):
        _, py = px(np.array([x0]), np.array([t]))
        out.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{py[0]:.1f}" y2="{py[0]:.1f}" stroke="#eee"/>'
                   f'<text x="{pad_l - 5}" y="{py[0] + 4:.1f}" text-anchor="end">{t:g}</text>')
    for t in _nice_ticks(x0, x1, 6):
        pxx, _ = px(np.array([t]), np.array([y0]))
        out.append(f'<text x="{pxx[0]:.1f}" y="{pad_t + h + 15}" text-anchor="middle">{t:g}</text>')
    if reference is not None:
        _, py = px(np.array([x0]), np.array([reference[0]]))
        out.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{py[0]:.1f}" y2="{py[0]:.1f}" stroke="grey" '
                   f'stroke-dasharray="2 3"/><text x="{pad_l + w - 4}" y="{py[0] - 4:.1f}" text-anchor="end" '
                   f'fill="#777">{html.escape(reference[1])}</text>')
    legend = []
    for i, (name, v) in enumerate(ys.items()):
        color, keep = DIGIT_COLORS[i % 10], np.isfinite(v)
        xs, vs = px(x[keep], v[keep])
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, vs))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        lx, ly = pad_l + 160 * (i % 2), pad_t + h + 44 + 16 * (i // 2)  # two legend entries a row, under the title
        legend.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="3"/>'
                      f'<text x="{lx + 24}" y="{ly + 4}">{html.escape(name)}</text>')
    out.append(f'<text x="{pad_l + w / 2:.1f}" y="{pad_t + h + 28}" text-anchor="middle">{html.escape(x_title)}</text>'
               f'<text x="12" y="{pad_t + h / 2:.1f}" text-anchor="middle" transform="rotate(-90 12 {pad_t + h / 2:.1f})">'
               f'{html.escape(y_title)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
            f'font-size="11" fill="#333">{"".join(out)}{"".join(legend)}</svg>')


def table_html(rows: list[dict], max_height: int = 520) -> str:
    """Rows (column → value) as one HTML table that scrolls inside its own box (a sticky header), every
    value escaped (names come from weights folders), None as "—", numbers right-aligned, each row on one
    line (the box scrolls sideways when the table is wider). Streamlit's interactive table would bring
    pandas into the server (~40 MB of its memory, issue 14) for tables of a few dozen rows."""
    if not rows:
        return ""
    columns = list(dict.fromkeys(k for r in rows for k in r))

    def cell(value, tag: str = "td") -> str:
        text = "—" if value is None else "".join(ch if ch.isprintable() else " " for ch in str(value))  # one line:
        # a blank line would end the HTML block and let markdown read the rest
        numeric = tag == "td" and re.fullmatch(r"[-+−]?[\d,.]+( ?%)?( ± [\d,.]+( ?%)?)?", text) is not None
        attrs = ' style="text-align:right"' if numeric else ""
        return f"<{tag}{attrs}>{html.escape(text)}</{tag}>"

    head = "".join(cell(k, "th") for k in columns)
    body = "".join("<tr>" + "".join(cell(r.get(k)) for k in columns) + "</tr>" for r in rows)
    return (f'<div class="aae-table" style="overflow:auto;max-height:{int(max_height)}px">'
            '<style>.aae-table table{border-collapse:collapse;font-size:0.85rem;width:100%}'
            '.aae-table th{position:sticky;top:0;background:#f0f2f6;text-align:left;'
            'vertical-align:bottom}.aae-table td{white-space:nowrap}.aae-table th,.aae-table td{padding:0.25rem 0.6rem;'
            'border-bottom:1px solid rgba(128,128,128,0.25)}</style>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def table_csv(rows: list[dict]) -> str:
    """The same rows as CSV text (None as an empty cell), for a download button."""
    import csv
    import io
    columns = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if r.get(k) is None else r.get(k) for k in columns} for r in rows)
    return out.getvalue()


def bars_svg(values, labels, width: int = 320, height: int = 170, color: str = "#1f77b4") -> str:
    """A small bar chart as one SVG: one bar per value in [0, 1] (e.g. q(y|x) over the ten digits), its
    label under it, the largest bar's value above it. No chart library in the browser or the server."""
    values = np.clip(np.asarray(values, dtype=float), 0.0, 1.0)
    labels = [html.escape(str(x)) for x in labels]
    if len(values) != len(labels) or not len(values):
        raise ValueError(f"one label per value is needed, got {len(values)} values and {len(labels)} labels")
    pad_b, pad_t, pad_l = 22, 18, 30
    slot, plot_h = (width - pad_l) / len(values), height - pad_b - pad_t
    top = int(values.argmax())
    bars = []
    for i, (v, name) in enumerate(zip(values, labels)):
        x, h = pad_l + i * slot + 0.15 * slot, v * plot_h
        bars.append(f'<rect x="{x:.1f}" y="{pad_t + plot_h - h:.1f}" width="{0.7 * slot:.1f}" height="{h:.1f}" '
                    f'fill="{color}" fill-opacity="{1.0 if i == top else 0.55}"/>'
                    f'<text x="{x + 0.35 * slot:.1f}" y="{height - 6}" text-anchor="middle">{name}</text>')
    x_top = pad_l + (top + 0.5) * slot
    axis = "".join(f'<text x="{pad_l - 4}" y="{pad_t + (1 - t) * plot_h + 4:.1f}" text-anchor="end">{t:g}</text>'
                   f'<line x1="{pad_l}" x2="{width}" y1="{pad_t + (1 - t) * plot_h:.1f}" y2="{pad_t + (1 - t) * plot_h:.1f}" '
                   'stroke="#ccc" stroke-width="0.5"/>' for t in (0, 0.5, 1))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
            f'font-size="11" fill="#333">{axis}{"".join(bars)}<text x="{x_top:.1f}" y="{pad_t + (1 - values[top]) * plot_h - 4:.1f}" '
            f'text-anchor="middle" font-weight="bold">{values[top]:.2f}</text></svg>')


def add_marker(fig: go.Figure, point, name: str, color: str = "black") -> go.Figure:
    """A large star at one 2-D point (e.g. where a drawn digit lands)."""
    fig.add_trace(go.Scatter(x=[float(point[0])], y=[float(point[1])], mode="markers", name=name,
                             marker={"symbol": "star", "size": 22, "color": color, "line": {"width": 2, "color": "white"}},
                             hovertemplate=f"{name}: z = (%{{x:.2f}}, %{{y:.2f}})<extra></extra>"))
    return fig


def share_on_own_component(codes: np.ndarray, labels: np.ndarray, prior) -> float:
    """Share of codes whose nearest prior sample comes from the component of their own digit."""
    import torch

    z, comp = prior.sample(20_000, torch.Generator().manual_seed(0))
    nearest = comp.numpy()[torch.cdist(torch.as_tensor(codes, dtype=torch.float32), z).argmin(1).numpy()]
    return float((nearest == labels).mean())


def favicon(size: int = 64):
    """The app's page icon, drawn here so that the app needs no font or image server: ten dots in
    the digit colours on a ring, like a mixture prior's arms."""
    import math

    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    r, dot = size * 0.34, size * 0.09
    for k, color in enumerate(DIGIT_COLORS):
        a = 2 * math.pi * k / len(DIGIT_COLORS)
        x, y = size / 2 + r * math.cos(a), size / 2 + r * math.sin(a)
        draw.ellipse([x - dot, y - dot, x + dot, y + dot], fill=color)
    return img


def same_network_pairs(cards: dict[str, Card | dict], first: str, second: str) -> list[tuple[str, str]]:
    """Shipped 2-D models of families ``first`` and ``second`` built on the same network (same hidden
    widths): [(first_name, second_name), …], e.g. a plain AE and a VAE differing only in the KL term."""
    two_d = {n: c for n, c in ((n, Card.of(c)) for n, c in cards.items()) if c.latent_dim == 2}
    return [(a, b) for a, ca in two_d.items() if ca.model == first
            for b, cb in two_d.items() if cb.model == second and ca.hidden == cb.hidden]
