"""What a selection on a latent map picks: the value the map component sends from the browser
(``app/components/latent_canvas`` in select mode) read into test digits and spots of empty space.

The value is untrusted (it comes from a browser): anything malformed selects nothing. Its kinds:
- ``{"kind": "click", "x", "y", "index"}``: the test digit ``index`` under the pointer, or (index −1)
  the spot (x, y) of empty space, decoded where the map is a plane;
- ``{"kind": "box", "box": [x0, x1, y0, y1]}``: every test digit inside the box (edges included);
- ``{"kind": "lasso", "path": [x, y, x, y, …]}``: every test digit inside the closed path (even-odd
  rule: the browser marks the same points);
- ``{"kind": "clear"}``: nothing.
A box or a lasso over a decodable plane also picks the spots of an n×n grid over the map's frame that
fall inside it (empty space to decode, as a click on it would).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_VERTICES = 5_000  # a lasso's path: more than any hand draws (the browser adds one every 3 px)
GRID_N = 41  # spots per side of the grid a box or lasso picks empty space from


@dataclass(frozen=True)
class Selection:
    """What a selection on the latent map asks for."""

    test_indices: tuple[int, ...] = ()  # test images picked, ascending (a click: the one clicked)
    spots: tuple[tuple[float, float], ...] = ()  # positions in empty space to decode
    kind: str = ""  # "click", "box", "lasso", or "" (nothing selected)


def in_box(points: np.ndarray, box) -> np.ndarray:
    """N bools: which points (N×2) lie in the box (x0, x1, y0, y1), edges included."""
    x0, x1, y0, y1 = box
    return (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)


def in_polygon(points: np.ndarray, path: np.ndarray, block: int = 2_000_000) -> np.ndarray:
    """N bools: which points (N×2) lie inside the closed polygon ``path`` (M×2), by the even-odd rule:
    a ray from the point towards +x crosses its edges an odd number of times. Points go in chunks of
    at most ``block`` point-edge pairs (a long lasso over 10k points stays a few MB)."""
    xi, yi = path[:, 0], path[:, 1]  # M: each edge runs from vertex j = i − 1 to vertex i
    xj, yj = np.roll(xi, 1), np.roll(yi, 1)
    out = np.zeros(len(points), dtype=bool)
    step = max(1, block // max(1, len(path)))
    for a in range(0, len(points), step):
        x, y = points[a:a + step, 0:1], points[a:a + step, 1:2]  # n×1
        straddles = (yi > y) != (yj > y)  # n×M
        with np.errstate(divide="ignore", invalid="ignore"):
            cross_x = (xj - xi) * (y - yi) / (yj - yi) + xi  # n×M, used only where the edge straddles y
        out[a:a + step] = ((straddles & (x < cross_x)).sum(axis=1) % 2) == 1
    return out


def grid(extent: tuple[float, float, float, float], n: int = GRID_N) -> np.ndarray:
    """n²×2: an n×n grid of spots over the frame (x0, x1, y0, y1), edges included."""
    x0, x1, y0, y1 = extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return np.column_stack([gx.ravel(), gy.ravel()])


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def _numbers(v, lo: int, hi: int) -> np.ndarray | None:
    if not isinstance(v, (list, tuple)) or not lo <= len(v) <= hi:
        return None
    out = [_number(x) for x in v]
    return None if any(x is None for x in out) else np.array(out)


def read_event(value, points: np.ndarray, extent: tuple[float, float, float, float] | None = None,
               grid_n: int = GRID_N) -> Selection:
    """The selection ``value`` (the component's, see the module's doc) makes on the map's points (N×2).
    ``extent``: the frame of a map whose empty space decodes (a 2-D plane), None where it does not
    (a projection, a decoder that also needs a label): then only test digits are picked."""
    if not isinstance(value, dict):
        return Selection()
    points = np.asarray(points, dtype=np.float64)  # as the browser compares them (float32 read as doubles)
    kind, n = value.get("kind"), len(points)
    if kind == "click":
        x, y, index = _number(value.get("x")), _number(value.get("y")), value.get("index")
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < n:
            return Selection((index,), (), kind)
        if index == -1 and x is not None and y is not None and extent is not None:
            return Selection((), ((x, y),), kind)
        return Selection()
    if kind == "box":
        box = _numbers(value.get("box"), 4, 4)
        if box is None:
            return Selection()
        box = (*sorted(box[:2]), *sorted(box[2:]))
        inside = lambda p: in_box(p, box)  # noqa: E731
    elif kind == "lasso":
        flat = _numbers(value.get("path"), 6, 2 * MAX_VERTICES)
        if flat is None or len(flat) % 2:
            return Selection()
        path = flat.reshape(-1, 2)
        inside = lambda p: in_polygon(p, path)  # noqa: E731
    else:
        return Selection()
    picked = tuple(int(i) for i in np.flatnonzero(inside(points)))
    spots = ()
    if extent is not None:
        g = grid(extent, grid_n)
        spots = tuple((float(a), float(b)) for a, b in g[inside(g)])
    return Selection(picked, spots, kind)
