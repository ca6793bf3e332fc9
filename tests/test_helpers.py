import numpy as np
import pytest

from aae_core import latent
from app import helpers


def test_choose_accepts_known_values_and_explains_the_rest():
    assert helpers.choose("b", ["a", "b"], "a") == ("b", None)
    assert helpers.choose(None, ["a", "b"], "a") == ("a", None)
    value, note = helpers.choose("<script>" + "x" * 100, ["a", "b"], "a")
    assert value == "a" and "Ignored unknown value" in note and len(note) < 120


def test_clamp_int():
    assert helpers.clamp_int("42", 0, 99, 0) == (42, None)
    assert helpers.clamp_int("1e9", 0, 99, 7)[0] == 7
    value, note = helpers.clamp_int("-5", 0, 99, 7)
    assert value == 0 and "outside" in note


def test_prior_pairs_needs_both_families():
    cards = {
        "a": {"model": "aae", "latent_dim": 2, "prior": {"name": "gaussian"}},
        "v": {"model": "vae", "latent_dim": 2, "prior": {"name": "gaussian"}},
        "m": {"model": "aae", "latent_dim": 2, "prior": {"name": "mixture10"}},
        "h": {"model": "vae", "latent_dim": 8, "prior": {"name": "mixture10"}},
    }
    assert helpers.prior_pairs(cards) == {"gaussian": {"aae": "a", "vae": "v"}}
    # only the same prior (every setting) and the same network pair up: a VAE on N(0, I) beside an AAE on
    # N(0, 5²I), or a convolutional AAE, is not a fair comparison
    wide = {"name": "gaussian", "std": 5.0}
    cards = {"a": {"model": "aae", "latent_dim": 2, "prior": wide, "config": {"hidden": [500, 500]}},
             "b": {"model": "vae", "latent_dim": 2, "prior": {"name": "gaussian", "std": 1.0}, "config": {"hidden": [500, 500]}},
             "c": {"model": "aae", "latent_dim": 2, "prior": wide, "config": {"arch": "conv", "hidden": [256, 256]}},
             "d": {"model": "vae", "latent_dim": 2, "prior": wide, "config": {"hidden": [256, 256]}},
             "e": {"model": "vae", "latent_dim": 2, "prior": wide, "config": {"hidden": [500, 500]}}}
    assert helpers.prior_pairs(cards) == {"gaussian": {"aae": "a", "vae": "e"}}


def test_latent_figure_has_a_trace_per_digit():
    codes = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], np.float32)
    fig = helpers.latent_figure(codes, np.array([3, 3, 7]), (-1.0, 3.0))
    assert [t.name for t in fig.data] == [str(d) for d in range(10)]
    assert list(fig.data[3].customdata) == [0, 1] and list(fig.data[7].customdata) == [2]


def test_morph_html_carries_every_frame_in_one_sprite():
    import base64
    import io
    import re

    from PIL import Image

    frames = np.random.default_rng(0).random((7, 784))
    html = helpers.morph_html(frames, np.linspace(0, 1, 7), size=200)
    sprite = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html).group(1)
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(sprite))))
    assert img.shape == (7 * 28, 28)  # every frame, one under the other, at native size
    assert np.array_equal(img[6 * 28:], latent.to_uint8(frames[6]).reshape(28, 28))  # the last frame is t = 1
    assert 'max="6"' in html and '"1.00"' in html and "background-size: 200px 1400px" in html
    assert "▶ play" in html and "<script" in html and "plotly" not in html.lower()
    with pytest.raises(ValueError, match="one path fraction per frame"):
        helpers.morph_html(frames, np.linspace(0, 1, 6))


def test_path_map_svg_draws_every_code_inside_the_extent_and_the_walk():
    import xml.etree.ElementTree as ET

    codes = np.array([[0.0, 0.0], [1.0, -1.0], [9.0, 0.0], [-2.0, 2.0]])  # the third lies outside [-3, 3]
    labels = np.array([0, 3, 5, 9])
    path = np.linspace([-2.0, -2.0], [2.0, 2.0], 11)
    svg = helpers.path_map_svg(codes, labels, (-3.0, 3.0), path, size=300)
    root = ET.fromstring(svg)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    dots = [c for c in root.iter(f"{ns}circle") if c.get("r") == "1.6"]
    assert [d.get("fill") for d in dots] == [helpers.DIGIT_COLORS[i] for i in (0, 3, 9)]
    legend = [c.get("fill") for c in root.iter(f"{ns}circle") if c.get("r") == "4"]
    assert legend == list(helpers.DIGIT_COLORS) and "digit" in [t.text for t in root.iter(f"{ns}text")]
    assert (float(dots[0].get("cx")), float(dots[0].get("cy"))) == (44 + 123.0, 10 + 123.0)  # z = 0: the centre
    assert len([c for c in root.iter(f"{ns}circle") if c.get("r") == "5"]) == 11  # one marker per step
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "1" in texts and "11" in texts and "2" in texts and "-2" in texts  # steps 1 and 11, round ticks
    assert root.get("width") == "300" and len(list(root.iter(f"{ns}polyline"))) == 2
    with pytest.raises(ValueError, match="hi > lo"):
        helpers.path_map_svg(codes, labels, (1.0, 1.0), path)


def test_map_svg_draws_the_outlines_where_the_segments_are_and_curves_svg_the_losses():
    import xml.etree.ElementTree as ET

    ns = "{http://www.w3.org/2000/svg}"
    arc = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # one polyline, data coordinates
    svg = ET.fromstring(helpers.map_svg(np.zeros((3, 2)), np.array([1, 1, 2]), (-3.0, 3.0), size=300,
                                        outlines=[([arc, -arc], ""), ([2 * arc], "6 4")]))
    paths = list(svg.iter(f"{ns}path"))
    assert [p.get("stroke-dasharray") for p in paths] == [None, "6 4"]  # solid, then dashed
    # (1, 0) → pixel (44 + 4/6·246, 10 + 3/6·246): the lines land where the codes would, one subpath each
    assert paths[0].get("d").startswith("M208.0 133.0L167.0 92.0L126.0 133.0M") and paths[0].get("d").count("M") == 2
    assert len([c for c in svg.iter(f"{ns}circle") if c.get("r") == "1.6"]) == 3
    curves = ET.fromstring(helpers.curves_svg([1, 2, 3], {"discriminator": [1.5, 1.4, float("nan")], "<g>": [0.5, 0.7, 0.9]},
                                              reference=(1.386, "2·ln 2")))
    lines = list(curves.iter(f"{ns}polyline"))
    assert [len(p.get("points").split()) for p in lines] == [2, 3]  # the NaN skipped
    texts = [t.text for t in curves.iter(f"{ns}text")]
    assert "<g>" in texts and "2·ln 2" in texts and "epoch" in texts  # names escaped and read back
    assert "no losses yet" in helpers.curves_svg([], {})


def test_nice_ticks_are_round_and_inside():
    assert helpers._nice_ticks(-3.0, 3.0).tolist() == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
    assert helpers._nice_ticks(-17.3, 22.0).tolist() == [-10.0, 0.0, 10.0, 20.0]


def test_outside_share():
    codes = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, -5.0], [1.0, 1.0]])
    assert helpers.outside_share(codes, -2.0, 2.0) == 0.5
    assert helpers.outside_share(codes, -5.0, 5.0) == 0.0


def test_parse_floats_clamps_pads_and_refuses_garbage():
    from app.helpers import parse_floats

    assert parse_floats(None, 3, -3, 3) == ([0.0, 0.0, 0.0], None)
    assert parse_floats("1.5,-0.25", 2, -3, 3) == ([1.5, -0.25], None)
    values, note = parse_floats("9,-9", 2, -3, 3)
    assert values == [3, -3] and "clamped" in note
    values, note = parse_floats("1", 3, -3, 3)
    assert values == [1.0, 0.0, 0.0] and "expected 3 numbers, got 1" in note
    values, note = parse_floats("1,2,3,4", 2, -3, 3)
    assert values == [1.0, 2.0] and "got 4" in note
    for bad in ("abc", "1,,2", "nan,1", "inf,0", "<script>"):
        values, note = parse_floats(bad, 2, -3, 3)
        assert values == [0.0, 0.0] and note, bad


def test_models_for_filters_by_family_and_code_size():
    from app.helpers import models_for

    cards = {"a": {"model": "aae", "latent_dim": 2}, "s": {"model": "supervised-aae", "latent_dim": 2},
             "e": {"model": "aae", "latent_dim": 8}, "x": {"model": "no-such-family", "latent_dim": 2}}
    assert models_for(cards) == ["a"]  # the supervised AAE needs a label to decode a point: not on a map
    assert models_for(cards, latent_dim=None) == ["a", "e"]
    assert models_for(cards, latent_dim=None, families=("supervised-aae",)) == ["s"]


def test_metric_summary_shows_what_the_card_measured():
    from app.helpers import metric_summary

    pairs = dict(metric_summary({"metrics": {"error": 0.0412, "recon_bce": 101.26, "parzen_ll": 250.4, "parzen_se": 2.1}}))
    assert pairs["test error ↓"] == "4.12 %" and pairs["recon. NLL (nats) ↓"] == "101.3"
    assert pairs["Parzen LL ↑"] == "250.4 ± 2.1" and "clustering error, paper rule ↓" not in pairs
    assert metric_summary({}) == []


def test_share_on_own_component_is_one_for_prior_samples_and_chance_for_shuffled_labels():
    import torch

    from aae_core.priors import build_prior
    from app.helpers import share_on_own_component

    prior = build_prior("mixture10")
    z, comp = prior.sample(3000, torch.Generator().manual_seed(1))
    assert share_on_own_component(z.numpy(), comp.numpy(), prior) > 0.95
    shuffled = np.random.default_rng(0).permutation(comp.numpy())
    assert share_on_own_component(z.numpy(), shuffled, prior) < 0.2


def test_verdict_states_the_papers_claim_only_when_both_measures_agree():
    from app.helpers import verdict

    aae_wins = verdict({"vae": {"prior_swd": 0.5, "prior_mmd": 0.02}, "aae": {"prior_swd": 0.2, "prior_mmd": 0.005}})
    assert "As the paper says" in aae_wins and "both measures" in aae_wins
    vae_wins = verdict({"vae": {"prior_swd": 0.1, "prior_mmd": 0.001}, "aae": {"prior_swd": 0.2, "prior_mmd": 0.005}})
    assert "opposite of the paper" in vae_wins
    split = verdict({"vae": {"prior_swd": 0.1, "prior_mmd": 0.01}, "aae": {"prior_swd": 0.2, "prior_mmd": 0.005}})
    assert "disagree" in split and "SWD prefers the VAE" in split and "MMD the AAE" in split
    assert "lack" in verdict({"vae": {"prior_swd": 0.1}, "aae": {"prior_swd": 0.2}})


def test_a_big_selection_is_counted_whole_and_sampled_fairly():
    from aae_core.map_select import read_event

    codes = np.random.default_rng(0).normal(size=(5000, 2))
    labels = np.repeat(np.arange(10), 500)
    sel = read_event({"kind": "box", "box": [-9, 9, -9, 9]}, codes)
    assert len(sel.test_indices) == 5000  # nothing silently cut
    sample = helpers.fair_sample(sel.test_indices, 16)
    assert len(sample) == 16 and sample == sorted(sample) and len(set(labels[sample])) >= 5  # not just zeros
    assert helpers.fair_sample(sample, 16) == sample and helpers.fair_sample(sel.test_indices, 16) == sample


def test_the_prior_is_drawn_as_outlines_of_its_mass():
    from aae_core import latent
    from aae_core.priors import build_prior

    prior = build_prior({"name": "mixture10"})
    axis, dens = latent.density_grid(prior, -3, 3, 60)
    levels = latent.hdr_levels(prior)
    assert levels[0.5] > levels[0.9] > levels[0.99] > 0  # more mass, lower level
    z, _ = prior.sample(20_000, __import__("torch").Generator().manual_seed(1))
    inside = (prior.log_prob(z).exp() >= levels[0.9]).float().mean().item()
    assert abs(inside - 0.9) < 0.01  # the 90 % contour holds 90 % of fresh samples
    fig = helpers.latent_figure(np.zeros((3, 2)), np.array([0, 1, 2]), (-3.0, 3.0), density=(axis, dens, levels))
    contours = [t for t in fig.data if t.type == "contour"]
    assert len(contours) == 3 and all(t.contours.coloring == "none" for t in contours)
    assert [t.contours.start for t in contours] == [levels[m] for m in sorted(levels)]


def test_side_by_side_panels_keep_the_same_width_with_the_legend_below():
    fig = helpers.latent_figure(np.zeros((3, 2)), np.array([0, 1, 2]), (-3.0, 3.0), legend_below=True)
    assert fig.layout.legend.orientation == "h" and fig.layout.showlegend


def test_the_home_pages_summary_follows_the_cards():
    def card(model, prior, swd, mmd):
        return {"model": model, "latent_dim": 2, "prior": {"name": prior}, "metrics": {"prior_swd": swd, "prior_mmd": mmd}}

    cards = {"aae-g": card("aae", "gaussian", 0.2, 0.001), "vae-g": card("vae", "gaussian", 0.5, 0.01),
             "aae-m": card("aae", "mixture10", 0.1, 0.002), "vae-m": card("vae", "mixture10", 0.4, 0.02)}
    text = helpers.comparison_summary(cards)
    assert text.count("**AAE**") == 2 and "as in the paper's Figure 2" in text
    cards["vae-m"]["metrics"]["prior_mmd"] = 0.0001
    text = helpers.comparison_summary(cards)
    assert "mixture10 prior the two prior-match measures disagree" in text and "not everywhere" in text


def test_table_html_escapes_every_value_and_keeps_one_html_block():
    from tests.test_app import _Table
    hostile = '<img src=x onerror=alert(1)>\n\n[click](https://evil.example) `x` **b**'
    rows = [{"model": hostile, "error": None, "acc": "0.951"}, {"model": "aae-2d", "acc": "12.5 %", "extra": 3}]
    text = helpers.table_html(rows)
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "\n" not in text  # a blank line would end the HTML block and hand the rest to markdown
    header, *body = _Table(text).rows
    assert header == ["model", "error", "acc", "extra"]  # every column of every row, in first-seen order
    assert body[0][0].startswith("<img src=x") and body[0][1] == "—" and body[1][3] == "3"
    assert 'style="text-align:right">0.951<' in text and 'style="text-align:right">12.5 %<' in text
    assert ".aae-table td{white-space:nowrap}" in text  # each row on one line; the box scrolls sideways
    assert helpers.table_html([]) == ""


def test_table_csv_round_trips_the_rows():
    import csv
    import io
    rows = [{"model": 'a,"b"', "error": None}, {"model": "c", "error": "1.5 %"}]
    back = list(csv.DictReader(io.StringIO(helpers.table_csv(rows))))
    assert back == [{"model": 'a,"b"', "error": ""}, {"model": "c", "error": "1.5 %"}]


def test_bars_svg_draws_one_bar_per_value_scaled_to_its_value():
    import xml.etree.ElementTree as ET
    probs = np.array([0.1, 0.0, 0.6, 0.3])
    svg = ET.fromstring(helpers.bars_svg(probs, ["0", "1", "<2>", "3"], height=170))
    rects = svg.findall("{http://www.w3.org/2000/svg}rect")
    heights = np.array([float(r.get("height")) for r in rects])
    assert len(rects) == 4 and np.allclose(heights / heights.max(), probs / probs.max())
    texts = [t.text for t in svg.findall("{http://www.w3.org/2000/svg}text")]
    assert "<2>" in texts and "0.60" in texts  # labels escaped and read back; the largest value written
    with pytest.raises(ValueError):
        helpers.bars_svg([0.5, 0.5], ["only one"])
