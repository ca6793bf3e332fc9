"""Selections on the latent map (issue 11): what the map component's value picks, read on the server
(aae_core.map_select), and the select-mode arguments (aae_core.browser_map.select_payload). The browser's
own marking of the same points: tests/test_browser.py."""
import json
import math

import numpy as np
import pytest

from aae_core import browser_map, map_select
from aae_core.map_select import Selection, grid, in_box, in_polygon, read_event


def test_a_box_holds_its_edges_and_a_polygon_follows_the_even_odd_rule():
    pts = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.5], [1.01, 0.5], [-0.2, 0.3]])
    assert in_box(pts, (0.0, 1.0, 0.0, 1.0)).tolist() == [True, True, True, False, False]
    rng = np.random.default_rng(0)
    p = rng.uniform(-0.5, 1.5, size=(5000, 2))
    triangle = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    expected = (p[:, 0] > 0) & (p[:, 1] > 0) & (p.sum(1) < 1)  # its closed form (no point falls on an edge)
    assert (in_polygon(p, triangle) == expected).all()
    assert (in_polygon(p, triangle[::-1]) == expected).all()  # either winding
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    assert (in_polygon(p, square) == in_box(p, (0, 1, 0, 1))).all()  # a square lasso is the box
    ell = np.array([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]], dtype=float)  # concave: an L
    assert in_polygon(np.array([[0.5, 1.5], [1.5, 0.5], [1.5, 1.5]]), ell).tolist() == [True, True, False]
    assert (in_polygon(p, triangle, block=7) == expected).all()  # chunked: the same answer


def test_a_click_picks_the_digit_under_it_or_a_spot_of_a_plane():
    pts = np.zeros((5, 2))
    assert read_event({"kind": "click", "x": 0.1, "y": 0.2, "index": 3, "seq": 1}, pts) == Selection((3,), (), "click")
    spot = {"kind": "click", "x": 0.1, "y": 0.2, "index": -1}
    assert read_event(spot, pts, (-1, 1, -1, 1)) == Selection((), ((0.1, 0.2),), "click")
    assert read_event(spot, pts) == Selection()  # no plane to decode (a projection): nothing
    for bad in ({"kind": "click", "x": 0, "y": 0, "index": 5}, {"kind": "click", "x": 0, "y": 0, "index": True},
                {"kind": "click", "x": 0, "y": 0, "index": "2"}, {"kind": "click", "x": float("nan"), "y": 0, "index": -1},
                {"kind": "click", "x": "0", "y": 0, "index": -1}, {"kind": "clear"}, {"kind": "zap"}, {}, None, [1, 2],
                "box"):
        assert read_event(bad, pts, (-1, 1, -1, 1)) == Selection(), bad


def test_a_box_or_lasso_picks_every_digit_inside_and_the_grid_s_spots():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(2000, 2))
    sel = read_event({"kind": "box", "box": [0.5, -0.5, 1.0, -1.0]}, pts, (-4, 4, -4, 4))  # corners in any order
    inside = np.flatnonzero(in_box(pts, (-0.5, 0.5, -1.0, 1.0)))
    assert sel.kind == "box" and sel.test_indices == tuple(inside.tolist()) and len(inside) > 100
    axis = np.linspace(-4, 4, map_select.GRID_N)  # the grid's spots in the box: a closed-form count
    per_x, per_y = ((axis >= -0.5) & (axis <= 0.5)).sum(), ((axis >= -1) & (axis <= 1)).sum()
    assert len(sel.spots) == per_x * per_y
    assert all(-0.5 <= x <= 0.5 and -1 <= y <= 1 for x, y in sel.spots)
    assert read_event({"kind": "box", "box": [-0.5, 0.5, -1, 1]}, pts).spots == ()  # not a plane: digits only
    path = [0, 0, 3, 0, 0, 3]
    sel = read_event({"kind": "lasso", "path": path}, pts, (-4, 4, -4, 4))
    assert sel.test_indices == tuple(np.flatnonzero(in_polygon(pts, np.reshape(path, (-1, 2)).astype(float))).tolist())
    assert len(grid((-4, 4, -4, 4))) == map_select.GRID_N ** 2
    for bad in ([0, 0, 1, 1], [0, 0, 1, 1, 2], [0, 0, 1, "1", 2, 2], [0, 0, 1, math.inf, 2, 2],
                [0.0, 0.0] * (map_select.MAX_VERTICES + 1), "0,0,1,1,2,2", None):
        assert read_event({"kind": "lasso", "path": bad}, pts, (-4, 4, -4, 4)) == Selection(), bad
    for bad in ([0, 1, 0], [0, 1, 0, "1"], [0, 1, 0, float("nan")], {"x0": 0}):
        assert read_event({"kind": "box", "box": bad}, pts, (-4, 4, -4, 4)) == Selection(), bad


def test_the_select_payload_is_basic_types_with_the_prior_s_outlines_as_json():
    pts = np.random.default_rng(2).normal(size=(30, 2)).astype(np.float32)
    labels = np.arange(30) % 10
    circle = np.column_stack([np.cos(np.linspace(0, 6.3, 20)), np.sin(np.linspace(0, 6.3, 20))])
    text = browser_map.outlines_json({0.9: [2 * circle], 0.5: [circle]})
    out = browser_map.select_payload(pts, labels, (-3, 3, -3, 3), ("z₁", "z₂"), key="k", spots=True, outlines=text,
                                     faint=labels > 4, names=tuple("abcdefghij"))
    assert out["mode"] == "select" and out["spots"] is True and out["extent"] == (-3.0, -3.0 + 6.0, -3.0, 3.0)
    np.testing.assert_array_equal(np.frombuffer(out["points"], "<f4").reshape(30, 2), pts)
    assert np.frombuffer(out["faint"], np.uint8).tolist() == (labels > 4).astype(int).tolist()
    # only the types Streamlit passes without asking whether they are data frames (which imports pandas)
    assert all(v is None or isinstance(v, (tuple, str, bytes, int, float, bool)) for v in out.values())
    lines = json.loads(out["outlines"])
    assert [o["name"] for o in lines] == ["50 %", "90 %"] and lines[0]["dash"] == [] and lines[1]["dash"]
    assert np.allclose(np.reshape(lines[1]["lines"][0], (-1, 2)), 2 * circle, atol=1e-4)
    with pytest.raises(ValueError, match="as many"):
        browser_map.select_payload(pts, labels[:5], (-3, 3, -3, 3), ("a", "b"), key="k", spots=False)
    with pytest.raises(ValueError, match="10"):
        browser_map.select_payload(pts, labels, (-3, 3, -3, 3), ("a", "b"), key="k", spots=False, names=("a",))
