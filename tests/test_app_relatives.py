"""The relatives' pages (issue 12) through Streamlit's AppTest: the model zoo, AE vs VAE, denoising,
and the conditional VAE on the Style explorer. Each asserts on what the page shows, and that no
page error was turned into a red box."""
import re

import numpy as np

import aae_core
from app import page_table
from tests.test_app import caption_of, images, open_page, table_rows

SHIPPED = {n: aae_core.load_pretrained(n).card for n in aae_core.list_pretrained()}
FAMILIES = {c["model"] for c in SHIPPED.values()}


def test_the_page_table_feeds_the_navigation_and_home():
    at = open_page("views/home.py")
    assert not at.error
    files = [row.file for row in page_table.PAGES]
    assert len(set(files)) == len(files) and len({row.url_path for row in page_table.PAGES}) == len(files)
    assert all((aae_core.PRETRAINED_DIR.parent / "app" / f).exists() for f in files)
    shown = [link.proto.page for link in at.get("page_link")]  # every page but Home, listed once
    assert sorted(shown) == sorted(row.url_path for row in page_table.PAGES[1:])


def test_the_zoo_shows_every_shipped_family_once_with_its_numbers():
    at = open_page("views/zoo.py")
    assert not at.error
    table = table_rows(at)
    assert {r["family"] for r in table} == FAMILIES and len(table) == len(FAMILIES)
    # a family is shown by its 2-D MLP model (the paper's AAE), not by the first name (aae-conv-2d)
    assert {r["family"]: r["model"] for r in table}["aae"] == "aae-gaussian-2d"
    for row in table:  # the numbers are each model's own card's
        m = SHIPPED[row["model"]]["metrics"]
        assert row["recon. NLL (nats) ↓"] == f"{m['recon_bce']:.1f}" and row["prior MMD² ↓"] == f"{m['prior_mmd']:.4f}"
        assert float(row["sample sharpness ↑"]) > 0
    captions = [c for _, c in images(at)]
    assert captions.count("reconstructions of the ten digits") == len(FAMILIES)
    assert any("UMAP of its 10-D code" in c for c in captions) and any("its 2-D code" in c for c in captions)
    text = " ".join(m.value for m in at.markdown)
    for family in FAMILIES:  # the sentence on what each optimises
        assert aae_core.registry.get_model_class(family).summary in text


def test_ae_vs_vae_puts_the_same_network_with_and_without_the_kl_side_by_side():
    at = open_page("views/ae_vs_vae.py")
    assert not at.error
    assert [h.value for h in at.subheader] == ["Plain autoencoder", "VAE (KL to N(0, I))"]
    ae, vae = SHIPPED["ae-2d"], SHIPPED["vae-2d"]
    assert ae["config"]["hidden"] == vae["config"]["hidden"]  # the same network
    assert at.caption[0].value.startswith("Axes from") and "the codes' own range" in at.caption[0].value
    assert "the prior's range" in at.caption[1].value
    shown = [m.value for m in at.metric]
    assert f"{ae['metrics']['prior_swd']:.3f}" in shown and f"{vae['metrics']['prior_swd']:.3f}" in shown
    # the lesson holds on the shipped weights: the KL puts the codes on the prior
    assert vae["metrics"]["prior_swd"] < ae["metrics"]["prior_swd"]
    assert "test codes lie within the circle" in caption_of(at, "decoded samples z ~ N(0, I)")
    assert np.isfinite(ae["metrics"]["recon_bce"])


def test_denoising_measures_what_the_denoising_ae_keeps():
    at = open_page("views/denoising.py", {"kind": "mask", "level": "0.5", "seed": "3"})
    assert not at.error
    assert "Rows: the clean digits" in caption_of(at, "Rows:")
    summary = next(m.value for m in at.markdown if m.value.startswith("At mask level 0.5"))
    kept = [int(v) for v in re.findall(r"\*\*(\d+)%\*\*", summary)]
    assert len(kept) == 2 and kept[0] > kept[1]  # the denoising AE's code names more corrupted digits
    assert "nats closer to" in summary  # and its rebuilds are nearer the clean digits
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    other = open_page("views/denoising.py", {"kind": "blur", "level": "7", "seed": "x"})
    assert not other.error and any("level" in m.value for m in other.info)  # clamped, said
