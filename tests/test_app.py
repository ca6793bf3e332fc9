"""AppTest for every page: move a widget, check what rendered. Runs on the shipped weights."""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import aae_core

APP = str(Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py")


def open_page(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def canvas_args(at: AppTest) -> list[dict]:
    """The JSON arguments of every latent map component (app/components/latent_canvas) on the page."""
    return [json.loads(c.proto.json_args) for c in at.get("component_instance")
            if c.proto.component_name.endswith("latent_canvas")]


def images(at: AppTest) -> list[tuple[str, str]]:
    """(url, caption) of every image on the page, in order."""
    found = []

    def walk(node):
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else []):
            if type(child).__name__ == "Image":
                found.extend((img.url, img.caption) for img in child.proto.imgs)
            walk(child)

    walk(at.main)
    return found


class _Table(HTMLParser):
    """Rows (column → text) of the first HTML table in a text."""
    def __init__(self, text: str):
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table_rows(at: AppTest, index: int = 0) -> list[dict[str, str]]:
    """The rows of the page's ``index``-th table (``app.widgets.table``), each as column → shown text."""
    tables = [m.value for m in at.markdown if "<table>" in m.value]
    assert len(tables) > index, f"{len(tables)} table(s) on the page"
    header, *rows = _Table(tables[index]).rows
    assert all(len(r) == len(header) for r in rows)
    return [dict(zip(header, r)) for r in rows]


def caption_of(at: AppTest, startswith: str) -> str:
    matches = [c for _, c in images(at) if c.startswith(startswith)]
    assert matches, f"no image captioned {startswith!r}: {[c for _, c in images(at)]}"
    return matches[0]


def test_home_lists_every_shipped_model_with_its_metrics():
    at = open_page("views/home.py")
    assert at.title[0].value == "aae-explorer"
    table = table_rows(at)
    assert len(table) == len(aae_core.list_pretrained()) >= 4  # every data set, each model's named
    data = [r["data"] for r in table]
    assert data.count("Fashion-MNIST") == 2 and set(data) == {"MNIST", "Fashion-MNIST"}
    card = aae_core.load_pretrained(aae_core.list_pretrained()[0]).card
    assert f"{card['metrics']['knn5_accuracy']:.3f}" in [r["5-NN accuracy ↑"] for r in table]
    assert "None" not in {v for r in table for v in r.values()}  # an absent number is a dash
    assert not at.error and [b.label for b in at.get("download_button")].count("CSV") == 1
    assert len(at.get("latex")) == 3


def test_latent_map_grid_slider_placement_and_coordinates():
    at = open_page("views/latent_map.py")
    assert at.title[0].value == "Latent map" and not at.get("plotly_chart") and not at.error
    (args,) = canvas_args(at)
    assert args["mode"] == "select" and args["spots"] and args["axes"] == ["z₁", "z₂"] and len(json.loads(args["outlines"])) == 3
    grid_before = caption_of(at, "The decoder's output")
    assert "15×15" in grid_before
    at.slider(key="grid_n").set_value(8).run()
    assert "8×8" in caption_of(at, "The decoder's output")
    n_images = len(images(at))
    at.radio(key="grid_place").set_value("hidden").run()
    assert len(images(at)) == n_images - 1
    at.number_input(key="z1").set_value(1.5).run()
    at.number_input(key="z2").set_value(-0.5).run()
    assert caption_of(at, "D(z) at").startswith("D(z) at (1.50, -0.50)")
    before = [u for u, c in images(at) if c.startswith("D(z) at")][0]
    at.number_input(key="z1").set_value(-3.0).run()
    after = [u for u, c in images(at) if c.startswith("D(z) at")][0]
    assert before != after  # a different spot decodes to a different image


def test_latent_map_switches_model_and_keeps_it_in_the_url():
    at = open_page("views/latent_map.py")
    options = at.selectbox(key="model").options
    assert len(options) >= 4
    other = "aae-mixture10-2d"
    at.selectbox(key="model").set_value(other).run()
    assert at.query_params["model"] == [other] or at.query_params["model"] == other


def test_a_bad_model_in_the_url_is_ignored_with_a_note():
    at = open_page("views/latent_map.py", {"model": "../../etc/passwd"})
    assert any("Ignored unknown value" in i.value for i in at.info)
    assert at.title[0].value == "Latent map" and not at.error


def test_compare_page_shows_both_models_on_each_prior():
    at = open_page("views/compare.py")
    assert [s.value for s in at.subheader][:2] == ["VAE", "AAE"]
    assert len(at.get("plotly_chart")) == 2 and len(at.metric) == 8
    assert not at.error and not at.exception
    priors = at.radio(key="compare_prior").options
    assert {"gaussian", "mixture10"} <= set(priors)
    at.radio(key="compare_prior").set_value("mixture10").run()
    captions = [c for _, c in images(at)]
    assert any("vae-mixture10-2d" in c for c in captions) and any("aae-mixture10-2d" in c for c in captions)
    swd = aae_core.load_pretrained("aae-mixture10-2d").card["metrics"]["prior_swd"]
    assert f"{swd:.3f}" in [m.value for m in at.metric]
    # the page's verdict follows the two measures on the cards
    from app.helpers import verdict
    cards = {k: aae_core.load_pretrained(f"{k}-mixture10-2d").card["metrics"] for k in ("vae", "aae")}
    assert verdict(cards) in [m.value for m in at.markdown]
    assert len([c for c in at.caption if "lie outside this view" in c.value]) == 2
    at.slider(key="compare_samples").set_value(4).run()
    assert not at.exception


def test_compare_page_shows_the_fashion_mnist_pair_with_the_clothes_named_and_mnist_elsewhere():
    import json

    at = open_page("views/compare.py", {"data": "fashion-mnist"})
    assert not at.error and not at.exception
    assert at.radio(key="compare_data").value == "fashion-mnist"
    assert at.radio(key="compare_data").options == ["MNIST", "Fashion-MNIST"]  # as displayed
    captions = [c for _, c in images(at)]
    assert any("fashion-vae-2d" in c for c in captions) and any("fashion-aae-2d" in c for c in captions)
    assert any("Fashion-MNIST: 70,000" in c.value for c in at.caption)
    legend = [t["name"] for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"] if t.get("customdata")]
    assert legend[:2] == ["T-shirt/top", "Trouser"] and legend[-1] == "Ankle boot"
    swd = aae_core.load_pretrained("fashion-aae-2d").card["metrics"]["prior_swd"]
    assert f"{swd:.3f}" in [m.value for m in at.metric]
    at.radio(key="compare_data").set_value("mnist").run()  # back: the MNIST pairs, digits in the legend
    assert not at.error and not at.exception and at.query_params["data"] in ("mnist", ["mnist"])
    assert "mixture10" in at.radio(key="compare_prior").options
    legend = [t["name"] for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"] if t.get("customdata")]
    assert legend[:2] == ["0", "1"]


def test_latent_map_offers_the_fashion_mnist_models_and_says_where_their_test_images_are(monkeypatch, tmp_path):
    monkeypatch.setattr(aae_core, "fashion_folders", lambda: [tmp_path])  # empty: a machine without the package
    at = open_page("views/latent_map.py", {"data": "fashion-mnist"})
    assert not at.error and not at.exception
    assert at.radio(key="map_data").value == "fashion-mnist"
    assert all("fashion" in o for o in at.selectbox(key="model").options) and len(at.selectbox(key="model").options) == 2
    assert any("apt install dataset-fashion-mnist" in i.value for i in at.info)  # how to get them, said once
    assert canvas_args(at)[0]["names"][:2] == ["T-shirt/top", "Trouser"]  # the legend names the clothes
    at.radio(key="map_data").set_value("mnist").run()  # back to digits: an MNIST model, no note
    assert not at.error and not at.exception
    assert not any("fashion" in o for o in at.selectbox(key="model").options)
    assert not any("dataset-fashion-mnist" in i.value for i in at.info)


def test_pages_show_mnist_models_unless_a_data_set_is_chosen():
    from app import resources

    every, mnist, fashion = resources.cards(None), resources.cards(), resources.cards("fashion-mnist")
    assert set(fashion) == {"fashion-aae-2d", "fashion-vae-2d"} and set(mnist) | set(fashion) == set(every)
    assert not set(mnist) & set(fashion)
    at = open_page("views/latent_map.py")  # MNIST unless asked
    assert not any("fashion" in o for o in at.selectbox(key="model").options)


def test_interpolation_slider_changes_the_decoded_image():
    at = open_page("views/interpolation.py")
    before_url, = [u for u, c in images(at) if c.startswith("D(z(t))")]
    at.slider(key="t").set_value(0.9).run()
    (after_url, caption), = [(u, c) for u, c in images(at) if c.startswith("D(z(t))")]
    assert caption.startswith("D(z(t)) at t = 0.90") and after_url != before_url
    at.radio(key="path").set_value("spherical").run()
    assert "spherical path" in caption_of(at, "spherical path")
    assert at.get("download_button")
    # the ends are shown as input and reconstruction, and the path is drawn on a latent map
    assert caption_of(at, "D(E(A))").endswith("t = 0") and caption_of(at, "D(E(B))").endswith("t = 1")
    assert not at.get("plotly_chart") and not at.error  # no chart library on this page: the map is an SVG
    assert "on the latent map (a fair sample of 2,000" in caption_of(at, "The spherical path on the latent map")
    # the in-browser scrubber: every one of its 41 frames in one sprite, no chart library
    scrubber, = at.get("iframe")
    assert 'max="40"' in scrubber.proto.srcdoc and "data:image/png;base64," in scrubber.proto.srcdoc


def test_interpolation_random_pair_picks_two_different_digits():
    at = open_page("views/interpolation.py")
    at.button[0].click().run()
    a, b = at.number_input(key="idx_a").value, at.number_input(key="idx_b").value
    labels = aae_core.load_test_set().labels
    assert labels[a] != labels[b]
    assert caption_of(at, "A:").startswith(f"A: test #{a}")


@pytest.mark.parametrize("page", ["views/latent_map.py", "views/interpolation.py", "views/compare.py"])
def test_pages_survive_hostile_query_parameters(page):
    at = open_page(page, {"model": "x" * 5000, "prior": "<script>alert(1)</script>"})
    assert not at.exception and not at.error and at.title


def test_the_point_and_the_sliders_live_in_the_url():
    at = open_page("views/latent_map.py", {"z1": "1.25", "z2": "-999"})
    assert at.number_input(key="z1").value == 1.25
    assert at.number_input(key="z2").value == pytest.approx(resources_extent_lo("aae-gaussian-2d"), abs=0.01)
    assert any("URL parameter z2" in i.value and "clamped" in i.value for i in at.info)
    at.number_input(key="z1").set_value(0.5).run()
    assert at.query_params["z1"] in ("0.50", ["0.50"])
    at = open_page("views/interpolation.py", {"a": "12", "b": "oops", "t": "0.25"})
    assert at.number_input(key="idx_a").value == 12 and at.number_input(key="idx_b").value == 1
    assert at.slider(key="t").value == 0.25 and any("URL parameter b" in i.value for i in at.info)
    assert caption_of(at, "D(z(t))").startswith("D(z(t)) at t = 0.25")


def resources_extent_lo(name: str) -> float:
    """The lower end of the latent map's range for a model (what the page clamps to): the prior's."""
    return round(aae_core.load_pretrained(name).map_extent()[0], 2)


def test_the_latent_map_spans_the_priors_range_unless_widened():
    at = open_page("views/latent_map.py", {"model": "aae-gaussian-2d"})
    lo, hi = aae_core.load_pretrained("aae-gaussian-2d").map_extent()
    assert f"z ∈ [{lo:.1f}, {hi:.1f}]²" in caption_of(at, "The decoder's output") and "the prior’s range" in caption_of(
        at, "The decoder's output")
    assert any("of the 10,000 test codes (" in c.value and "lie outside this view" in c.value for c in at.caption)
    at.toggle(key="widen").set_value(True).run()
    assert "widened to the test codes" in caption_of(at, "The decoder's output")
    assert not at.error and not at.exception


def test_switching_to_a_narrower_map_keeps_the_point_inside_it():
    at = open_page("views/latent_map.py", {"model": "aae-gaussian-2d"})
    at.number_input(key="z1").set_value(12.0).run()
    at.selectbox(key="model").set_value("aae-mixture10-2d").run()
    _, hi = aae_core.load_pretrained("aae-mixture10-2d").map_extent()
    assert at.number_input(key="z1").value == pytest.approx(hi, abs=1e-6)
    assert not at.exception and not at.error


def test_neighbours_by_code_and_by_pixels_for_a_model_of_any_code_size():
    at = open_page("views/neighbours.py", {"model": "aae-gaussian-8d", "idx": "3"})
    assert not at.error, [e.value for e in at.error]
    assert at.number_input(key="nn-idx").value == 3
    shown = images(at)
    assert "test #3" in shown[0][1]
    rows = [m.value for m in at.markdown if m.value.startswith(("**By code**", "**By pixels**"))]
    assert len(rows) == 2 and all("of 10 share its label" in r for r in rows)
    code_ids = [int(s.split(" ")[0].lstrip("#")) for s in shown[1][1].split(" · ")]
    assert len(code_ids) == 10 and 3 not in code_ids
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["10 nearest by code share the label"].endswith("%")
    assert int(metrics["10 nearest by pixels share the label"].rstrip("%")) > 85  # k-NN on MNIST pixels: ~96 %
    at.slider(key="nn-k").set_value(5).run()
    assert not at.exception and not at.error
    assert "of 5 share its label" in [m.value for m in at.markdown if m.value.startswith("**By code**")][0]


def test_neighbours_of_a_label_given_model_teach_style():
    at = open_page("views/neighbours.py", {"model": "supervised-aae-2d"})
    assert not at.error and any("style" in i.value for i in at.info)
    plain = open_page("views/neighbours.py", {"model": "aae-gaussian-8d"})
    assert not plain.info


@pytest.mark.parametrize("model", ["semi-aae-100", "aae-gaussian-8d", "supervised-aae-15d", "cluster-aae-16"])
def test_latent_map_shows_a_model_above_2d_through_its_stored_projection(model):
    at = open_page("views/latent_map.py", {"model": model})
    assert not at.error, [e.value for e in at.error]
    assert at.radio(key="projection").value == "umap"
    assert any("UMAP position" in c.value for c in at.caption)
    at.radio(key="projection").set_value("pca").run()
    assert not at.exception and not at.error
    assert any("PCA position" in c.value and "flat shadow" in c.value for c in at.caption)
    assert not [n for n in at.number_input if n.key in ("z1", "z2")]  # no plane to decode by coordinates


def test_latent_map_of_a_2d_model_whose_decoder_needs_a_label_draws_its_codes():
    at = open_page("views/latent_map.py", {"model": "supervised-aae-2d"})
    assert not at.error, [e.value for e in at.error]
    assert any("reads a label" in i.value for i in at.info)
    assert any("Nothing selected yet" in c.value for c in at.caption)


def selected_count(at: AppTest) -> int | None:
    shown = [m.value for m in at.markdown if "test digit(s) selected" in m.value]
    return int(shown[0].split("**")[1].split(" ")[0].replace(",", "")) if shown else None


def test_a_selection_on_the_map_is_read_on_the_server_whatever_the_browser_sends():
    """The map component's value (what the browser sends) drives the page: a click on empty space decodes
    it and the coordinate inputs follow; a box counts every test digit in it; anything malformed selects
    nothing, without an error."""
    from aae_core.map_select import read_event

    at = open_page("views/latent_map.py", {"model": "aae-gaussian-2d"})
    key = "map-aae-gaussian-2d"
    at.session_state[key] = {"kind": "click", "x": 2.5, "y": -1.25, "index": -1, "seq": 1}
    at.run()
    assert not at.error and not at.exception
    assert at.number_input(key="z1").value == 2.5 and at.number_input(key="z2").value == -1.25
    assert caption_of(at, "decoded spots").startswith("decoded spots (1 of 1 selected): (2.50, -1.25)")
    (args,) = canvas_args(at)
    assert json.loads(args["restore"])["x"] == 2.5  # a fresh frame redraws the selection
    box = {"kind": "box", "box": [-3, 3, -2, 4], "seq": 2}
    at.session_state[key] = box
    at.run()
    codes = aae_core.pretrained_codes("aae-gaussian-2d")["codes"].float().numpy()
    assert selected_count(at) == len(read_event(box, codes).test_indices) > 16
    assert "a random sample of 16 of them" in [m.value for m in at.markdown if "selected" in m.value][0]
    for bad in ({"kind": "lasso", "path": "rm -rf /"}, {"kind": "click", "index": 10**9}, ["box"], "x", 7,
                {"kind": "box", "box": [0, 1, 0, float("nan")]}):
        at.session_state[key] = bad
        at.run()
        assert not at.error and not at.exception, bad
        assert selected_count(at) is None and any("Nothing selected yet" in c.value for c in at.caption), bad


def test_a_projected_map_picks_dots_only():
    at = open_page("views/latent_map.py", {"model": "semi-aae-100"})
    (args,) = canvas_args(at)
    assert args["axes"] == ["UMAP 1", "UMAP 2"] and not args["spots"] and args["outlines"] is None
    at.session_state["projected-semi-aae-100-umap"] = {"kind": "click", "x": 0.0, "y": 0.0, "index": -1, "seq": 1}
    at.run()
    assert not at.error and selected_count(at) is None  # empty space of a UMAP decodes nothing
    x0, x1, y0, y1 = args["extent"]
    at.session_state["projected-semi-aae-100-umap"] = {"kind": "lasso", "seq": 2, "path": [x0, y0, x1, y0, x1, y1, x0, y1]}
    at.run()
    assert not at.error and selected_count(at) > 9000  # a lasso round the whole frame: (almost) every test digit


@pytest.mark.parametrize("model,labels", [("aae-gaussian-2d", ["Download the codes (CSV)", "Download the manifold grid (PNG)"]),
                                          ("semi-aae-100", ["Download the codes and their UMAP positions (CSV)"])])
def test_latent_map_offers_its_codes_for_download(model, labels):
    at = open_page("views/latent_map.py", {"model": model})
    assert not at.error
    shown = [b.proto.label for b in at.get("download_button")]
    assert all(label in shown for label in labels), shown
