"""AppTest for the pages of the label-aware models (issue 4): each moves a widget and checks what rendered."""
from __future__ import annotations

import numpy as np
import pytest

import aae_core
from test_app import caption_of, images, open_page, table_rows


def url_param(at, key):
    value = at.query_params[key]
    return value[0] if isinstance(value, list) else value


def style_image(at) -> str:
    (url,) = [u for u, c in images(at) if c.startswith("The same style z")]
    return url


def test_style_explorer_slider_random_and_borrowed_style():
    at = open_page("views/styles.py", {"model": "supervised-aae-2d"})
    assert at.title[0].value == "Style explorer" and len(at.slider) == 2
    first = style_image(at)
    at.slider(key="style-supervised-aae-2d-0").set_value(2.0).run()
    assert style_image(at) != first and url_param(at, "style").startswith("2.00,")
    at.button[0].click().run()  # random style
    values = [at.slider(key=f"style-supervised-aae-2d-{i}").value for i in range(2)]
    assert values != [2.0, 0.0]
    at.number_input(key="style-source").set_value(17).run()
    at.button[2].click().run()  # take the style of test digit 17
    code = aae_core.pretrained_codes("supervised-aae-2d")["codes"][17].numpy()
    got = [at.slider(key=f"style-supervised-aae-2d-{i}").value for i in range(2)]
    np.testing.assert_allclose(got, np.clip(code, -3, 3), atol=0.01)
    assert "#17" in caption_of(at, "rows: test images")


def test_style_explorer_reads_and_clamps_the_url():
    at = open_page("views/styles.py", {"model": "supervised-aae-2d", "style": "1.5,-99"})
    assert [at.slider(key=f"style-supervised-aae-2d-{i}").value for i in range(2)] == [1.5, -3.0]
    assert any("clamped" in i.value for i in at.info)
    at = open_page("views/styles.py", {"model": "supervised-aae-15d", "style": "abc"})
    assert len(at.slider) == 15 and any("malformed" in i.value for i in at.info)


def test_label_manifolds_walk_along_the_chosen_digit():
    at = open_page("views/label_manifolds.py", {"model": "label-aae-mixture10", "digit": "3"})
    assert at.title[0].value == "Label-conditioned manifolds" and len(at.get("plotly_chart")) == 1
    assert [m.label for m in at.metric] == ["test images of digit 3"]
    assert "steps 1–10 of the walk" in caption_of(at, "steps 1–")
    at.slider(key="manifold-steps").set_value(6).run()
    assert "steps 1–6 of the walk" in caption_of(at, "steps 1–") and len(images(at)) == 1
    assert not at.error
    share = [c.value for c in at.caption if "lie nearest to their own digit" in c.value]
    assert share and float(share[0].split(" %")[0]) > 10  # better than chance
    other = open_page("views/label_manifolds.py", {"model": "label-aae-swissroll", "digit": "eleven"})
    assert any("Ignored unknown value" in i.value for i in other.info)
    assert [m.label for m in other.metric] == ["test images of digit 0"]


def canvas_maps(at) -> list[tuple[dict, dict[str, bytes]]]:
    """Every latent map component on the page: its JSON arguments and its byte arguments."""
    import json
    return [(json.loads(c.proto.json_args), {a.key: a.bytes for a in c.proto.special_args})
            for c in at.get("component_instance") if c.proto.component_name.endswith("latent_canvas")]


@pytest.mark.parametrize("name, page, says", [("cluster-aae-16", "views/clusters.py", "one of 3 seeds"),
                                              ("semi-aae-100", "views/styles.py", "one of 3 seeds"),
                                              ("supervised-aae-2d", "views/styles.py", "one seed, no ± over runs")])
def test_the_model_line_says_how_many_seeds_stand_behind_its_numbers(name, page, says):
    at = open_page(page, {"model": name})
    assert not at.exception and not at.error
    (line,) = [c.value for c in at.caption if c.value.startswith("Measured on the 10,000 MNIST test images")]
    assert says in line and ("one of 1 seeds" not in line)


def test_clusters_page_selects_a_cluster():
    at = open_page("views/clusters.py", {"model": "cluster-aae-16", "cluster": "999"})
    assert any("outside" in i.value for i in at.info)
    assert at.selectbox(key="cluster-pick-cluster-aae-16").value == 15
    model = aae_core.load_pretrained("cluster-aae-16")  # the formula names this model's K, prior and style size
    assert r"\mathrm{Cat}(16)" in at.latex[0].value and f"{model.prior.std:g}^2I_{{{model.latent_dim}}}" in at.latex[0].value
    at.selectbox(key="cluster-pick-cluster-aae-16").set_value(2).run()
    assert url_param(at, "cluster") == "2"
    labels = {m.label: m.value for m in at.metric}
    probs = aae_core.pretrained_codes("cluster-aae-16")["probs"].numpy()
    assert labels["test images in it"] == f"{int((probs.argmax(1) == 2).sum()):,}"
    assert any("true digits" in c for _, c in images(at)) or "0" == labels["test images in it"]
    assert any("clustering error" in m.value.lower() for m in at.markdown)
    heads = [c for _, c in images(at) if " · " in c]
    assert len(heads) == 16 and heads[2].startswith("2 → ")  # one labelled head per cluster
    empty = int((probs.argmax(1)[:, None] == np.arange(16)).sum(0).__eq__(0).sum())
    assert sum(c.endswith("empty") for c in heads) == empty
    assert (empty > 0) == any("clusters are empty" in w.value for w in at.warning)
    assert not at.error
    # the chosen cluster's members on the stored UMAP map of the styles, over every test code in grey
    sizes = np.bincount(probs.argmax(1), minlength=16)
    assert (len(canvas_maps(at)) == 0) == (sizes[2] == 0)  # no map for an empty cluster
    k = int(np.flatnonzero(sizes)[0])
    at.selectbox(key="cluster-pick-cluster-aae-16").set_value(k).run()
    ((args, data),) = canvas_maps(at)
    faint = np.frombuffer(data["faint"], np.uint8)
    assert len(faint) == len(probs) and (np.flatnonzero(faint == 0) == np.flatnonzero(probs.argmax(1) == k)).all()
    from aae_core import projections
    codes = aae_core.pretrained_codes("cluster-aae-16")["codes"].float().numpy()
    xy = projections.read(aae_core.PRETRAINED_DIR / "cluster-aae-16", codes)["umap"]
    np.testing.assert_array_equal(np.frombuffer(data["points"], "<f4").reshape(-1, 2), xy)  # the stored UMAP map
    assert args["axes"] == ["UMAP 1", "UMAP 2"] and not args["tools"] and not args["spots"]  # a map to look at
    assert any("styles lie" in m.value for m in at.markdown) and not at.error


def test_style_explorer_opens_on_the_model_that_shows_the_lesson():
    at = open_page("views/styles.py")
    assert at.selectbox(key="model").value == "supervised-aae-2d"
    assert any("only the style" in i.value for i in at.info)
    at.selectbox(key="model").set_value("semi-aae-100").run()
    assert any("imperfect" in i.value for i in at.info) and not at.error


def test_dimred_page_shows_the_three_maps_side_by_side():
    at = open_page("views/dimred.py")
    names = [n for n in aae_core.list_pretrained() if n.startswith("dimred-aae")]
    assert len(names) == 3 and len(at.get("plotly_chart")) == 3
    assert sum("error" in m.value for m in at.markdown) >= 3


def test_draw_page_asks_for_a_digit_and_switches_source():
    at = open_page("views/draw.py")
    assert at.title[0].value == "Draw or upload a digit"
    assert any("Draw a digit" in i.value for i in at.info)
    at.radio(key="digit-source").set_value("the upload").run()
    assert any("Upload an image" in i.value for i in at.info) and not at.exception


def test_paper_page_puts_ours_next_to_the_paper():
    at = open_page("views/paper.py")
    text = " ".join(m.value for m in at.markdown)
    assert "1.90 ± 0.10 %" in text and "`semi-aae-100`" in text and "9.55 ± 2.05 %" in text
    error = aae_core.load_pretrained("semi-aae-100").card["metrics"]["error"]
    assert f"{100 * error:.2f} %" in text
    table = table_rows(at)  # every shipped model, in a table that scrolls instead of clipping
    mnist = [n for n in aae_core.list_pretrained() if not n.startswith("fashion-")]  # Fashion-MNIST: its own table
    assert [r["model"] for r in table] == mnist and "prior MMD² ↓" in table[0]
    assert "243.2 ± 2.0" in text and not at.error  # the Parzen calibration rows


@pytest.mark.parametrize("page", ["views/styles.py", "views/label_manifolds.py", "views/clusters.py",
                                  "views/draw.py", "views/dimred.py", "views/paper.py"])
def test_new_pages_survive_hostile_query_parameters(page):
    at = open_page(page, {"model": "x" * 5000, "style": "nan,inf," * 500, "digit": "-1", "cluster": "1e99"})
    assert not at.exception and at.title


def test_switching_style_model_starts_from_the_neutral_style_without_a_note():
    at = open_page("views/styles.py", {"model": "supervised-aae-2d", "style": "1.0,1.0"})
    at.selectbox(key="model").set_value("supervised-aae-15d").run()
    assert len(at.slider) == 15 and not any("expected" in i.value for i in at.info)
    assert all(at.slider(key=f"style-supervised-aae-15d-{i}").value == 0.0 for i in range(15))


def test_an_error_inside_a_fragment_is_a_message_not_a_traceback():
    from streamlit.testing.v1 import AppTest

    def app():  # runs in this process, where the repository root is importable
        from app.widgets import safe_fragment

        @safe_fragment
        def broken():
            raise ValueError("bad slider value")

        broken()

    at = AppTest.from_function(app, args=(), default_timeout=60)
    at.run()
    assert not at.exception and "bad slider value" in at.error[0].value
