"""What the latent map component (``app/components/latent_canvas``) needs to draw a model's map: in
select mode (``select_payload``: click, box and lasso; the server decodes what is picked,
``aae_core.map_select``) or in decode mode (``payload``: the model's decoder runs in the browser on any
point of the map). Pure numpy in; out, the component's arguments — small values as JSON, arrays as bytes.

A map point (x, y) becomes the decoder's input in one of two ways:
- **linear**: z = mean + x·basis[0] + y·basis[1] — the 2-D code itself (mean 0, the identity), or the
  inverse of a PCA of a longer code (every point of the map decodes, also empty space);
- **nearest**: z = the code of the test digit nearest to (x, y) on the map (a UMAP has no inverse).
A decoder that reads a label or cluster beside z gets one the student picks ("pick"), or the nearest
test digit's ("nearest": its q(y|x) where the model has one, else its one-hot true label).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

VIEWS = ("plane", "pca", "umap")
# Axis titles by view ("code": a 2-D code drawn as it is, its decoder also needing a label).
AXES = {"plane": ("z₁", "z₂"), "code": ("z₁", "z₂"), "umap": ("UMAP 1", "UMAP 2"), "pca": ("PC 1", "PC 2")}


@dataclass(frozen=True)
class MapView:
    points: np.ndarray  # N×2, the map's coordinates of the test digits
    axes: tuple[str, str]
    linear: dict | None  # {"mean": d, "basis": 2×d}: map point → code; None: decode at the nearest code
    extent: tuple[float, float, float, float]  # x0, x1, y0, y1 of the map


def spread(xy: np.ndarray, q: float = 0.001) -> tuple[float, float]:
    """A square view of map positions N×2: all but the most extreme share ``q`` on each side, 5 % margin."""
    lo, hi = float(np.quantile(xy, q)), float(np.quantile(xy, 1 - q))
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def _square_extent(points: np.ndarray, extent: tuple[float, float] | None, q: float = 0.005) -> tuple:
    """The map's square range: ``extent`` (the prior's) where given, else the points' central 99 %, padded."""
    lo, hi = extent if extent is not None else spread(points, q)
    return (lo, hi, lo, hi)


def map_view(codes: np.ndarray, view: str, projection: dict | None = None,
             extent: tuple[float, float] | None = None) -> MapView:
    """codes: N×d test codes. ``view``: "plane" (d = 2), "pca" or "umap" (d > 2, from ``projection``:
    the stored maps of ``aae_core.projections``)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    d = codes.shape[1]
    if view == "plane":
        if d != 2:
            raise ValueError(f"a {d}-D code has no plane: use its PCA or UMAP")
        return MapView(codes.astype(np.float32), AXES["plane"], {"mean": [0.0, 0.0], "basis": [[1.0, 0.0], [0.0, 1.0]]},
                       _square_extent(codes, extent))
    if projection is None:
        raise ValueError("this model has no stored projection of its codes")
    points = projection[view].astype(np.float32)
    if view == "umap":
        return MapView(points, AXES["umap"], None, _square_extent(points, None))
    mean, comps = projection["pca_mean"].astype(np.float64), projection["pca_components"].astype(np.float64)
    return MapView(points, AXES["pca"], {"mean": mean.tolist(), "basis": comps[:2].tolist()},
                   _square_extent(points, None))


def label_inputs(labels: np.ndarray, probs: np.ndarray | None, k: int) -> np.ndarray:
    """N×k: what the decoder reads beside z for each test digit under "nearest": its q(y|x) where the
    model has one, else its one-hot true label."""
    if probs is not None:
        return probs.astype(np.float32)
    return np.eye(k, dtype=np.float32)[labels]


def _f32(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


# The prior's outlines as the map draws them: (name, canvas dash pattern in px, line width), by mass.
OUTLINE_STYLE = {0.5: ("50 %", [], 2.0), 0.9: ("90 %", [7, 4], 1.6), 0.99: ("99 %", [1.5, 3], 1.4)}


def outlines_json(lines_by_mass: dict[float, list[np.ndarray]]) -> str:
    """A prior's contours (by the mass they enclose: polylines, each M×2) as the component's JSON text:
    [{"name", "dash", "width", "lines": [[x, y, x, y, …], …]}], coordinates to 4 decimals."""
    out = []
    for mass, lines in sorted(lines_by_mass.items()):
        name, dash, width = OUTLINE_STYLE.get(mass, (f"{mass:.0%}", [], 1.4))
        out.append({"name": name, "dash": dash, "width": width,
                    "lines": [np.round(np.asarray(line, dtype=float), 4).ravel().tolist() for line in lines]})
    return json.dumps(out)


def select_payload(points: np.ndarray, labels: np.ndarray, extent: tuple[float, float, float, float],
                   axes: tuple[str, str], *, key: str, spots: bool, names: tuple[str, ...] | None = None,
                   outlines: str | None = None, faint: np.ndarray | None = None, size: int = 620,
                   tools: bool = True) -> dict:
    """The component's arguments for a map to select from: points N×2 (the codes, or their 2-D
    projection), labels N, the frame (x0, x1, y0, y1) and axis titles; ``spots``: empty space decodes (a
    2-D plane); ``names``: the 10 classes' names where they are not digits; ``outlines``:
    ``outlines_json``; ``faint``: N bools, points drawn as grey background (the others over them);
    ``tools``: False for a map only to look at (hover names a dot; no selection, no zoom).
    The page adds ``restore`` (the last value, as JSON text) when it draws it."""
    n = len(points)
    if len(labels) != n or (faint is not None and len(faint) != n):
        raise ValueError("map points, labels and background flags must be as many")
    if names is not None and len(names) != 10:
        raise ValueError("class names: one per label, 10")
    return {"mode": "select", "model_key": key, "size": int(size), "points": _f32(points),
            "labels": np.asarray(labels, dtype=np.uint8).tobytes(), "extent": tuple(float(v) for v in extent),
            "axes": tuple(axes), "names": tuple(names) if names else None, "outlines": outlines,
            "faint": None if faint is None else np.asarray(faint, dtype=np.uint8).tobytes(), "spots": bool(spots),
            "tools": bool(tools), "first_index": 0}


def payload(view: MapView, codes: np.ndarray, labels: np.ndarray, images: bytes | np.ndarray, *, k: int = 0,
            y_source: str = "none", probs: np.ndarray | None = None, key: str, size: int = 520,
            onnx: bytes, first_index: int = 0, outlines: str | None = None) -> dict:
    """The component's arguments. Arrays travel as bytes (little-endian float32, uint8 labels), read
    in the browser as typed arrays: points N·2, codes N·d (decoded at the nearest), ys N·k, labels N;
    the rest as strings, numbers and tuples, and ``linear`` as JSON text: Streamlit asks of any other
    argument whether it is a data frame, which imports pandas into the server (~35 MB, issue 14).
    images: the N test digits shown on hover, N×784 uint8 or those bytes (pass the same bytes object
    to every payload: it is not copied), test digits ``first_index`` onwards. ``outlines``: the prior's
    contours (``outlines_json``) drawn over the map."""
    if y_source not in ("none", "pick", "nearest") or (k == 0) != (y_source == "none"):
        raise ValueError(f"y_source {y_source!r} does not fit a decoder with {k} label inputs")
    n = len(codes)
    if not isinstance(images, bytes):
        images = np.ascontiguousarray(images, dtype=np.uint8).tobytes()
    if not (len(view.points) == len(labels) == len(images) // 784 == n):
        raise ValueError("codes, map points, labels and images must be as many")
    out = {"mode": "decode", "model_key": key, "size": int(size), "onnx": onnx, "names": None, "outlines": outlines,
           "faint": None, "points": _f32(view.points),
           "labels": np.asarray(labels, dtype=np.uint8).tobytes(), "images": images,
           "extent": tuple(float(v) for v in view.extent), "axes": tuple(view.axes), "d": int(codes.shape[1]),
           "k": int(k), "y_source": y_source, "linear": json.dumps(view.linear) if view.linear else None,
           "codes": None, "ys": None,
           "first_index": int(first_index)}
    if view.linear is None:
        out["codes"] = _f32(codes)
    if y_source == "nearest":
        out["ys"] = _f32(label_inputs(labels, probs, k))
    return out
