"""Crafted links and damaged weights folders (issue 14, "Security"): user text is shown as text,
a refused weights folder gets one path-free notice, links out of a weights folder are refused."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import aae_core
from aae_core.weights import WeightsError, load_model
from app import page_table
from app.helpers import choose, clamp_int, literal, parse_floats
from tests.test_app import table_rows

APP = str(Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py")
PAGES = [row.file for row in page_table.PAGES]
# Every URL parameter a page reads, each carrying markup that must never render.
LINK, IMAGE = "[click me](https://evil.example/phish)", "![t](http://127.0.0.1:9/b.png)"
HOSTILE = {"model": LINK, "prior": IMAGE, "z1": LINK, "z2": "<img src=x onerror=alert(1)>", "a": IMAGE,
           "b": "**bold** $x^2$", "t": LINK, "idx": IMAGE, "style": LINK, "digit": IMAGE, "cluster": LINK,
           "kind": LINK, "level": IMAGE, "seed": "**bold**", "pair": LINK, "present": IMAGE}
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def outside_code(markdown: str) -> str:
    """What of a markdown text would be rendered as markup: everything outside its code spans."""
    return CODE_SPAN.sub("", markdown)


@pytest.mark.parametrize("text", [LINK, IMAGE, "<b>x</b>", "a`b``c", "`", "``", "", "   ", "x\ny", " `x", "\u202eevil",
                                  "nul\x00", "$\\frac12$", "https://evil.example", "x" * 500])
def test_literal_makes_any_text_one_code_span(text):
    shown = literal(text)
    if not text.strip():
        assert shown == "(an empty value)"
        return
    match = CODE_SPAN.fullmatch(shown.removesuffix("…"))
    assert match, shown
    inner = match.group(2)
    assert match.group(1) not in inner  # the fence cannot close early
    assert all(ch.isprintable() for ch in inner)  # no line break, NUL or bidi override survives
    assert len(inner.strip()) <= 40
    assert shown.endswith("…") == (len(text) > 40)


def test_notes_quote_the_users_text_only_as_code():
    notes = [choose(LINK, ["a", "b"], "a")[1], clamp_int(IMAGE, 0, 5, 0)[1], parse_floats(LINK, 2, -1, 1)[1],
             choose("broken", ["a"], "a", refused={"broken": "sha256 does not match"})[1],
             choose("evil", ["a"], "a", refused={"evil": f"bad entry {LINK!r}"})[1]]
    assert all(n and "evil.example" not in outside_code(n) and "127.0.0.1" not in outside_code(n) for n in notes)
    assert "was refused: `sha256 does not match`" in notes[-2]


def open_page(page: str, query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page)
    at.run()
    return at


def messages(at: AppTest) -> list[str]:
    return [m.value for kind in ("info", "warning", "error", "success", "caption", "markdown")
            for m in getattr(at, kind)] + [m.value for m in at.sidebar.warning]


@pytest.mark.parametrize("page", PAGES)
def test_crafted_links_render_no_markup_on_any_page(page):
    at = open_page(page, HOSTILE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.title  # the page itself rendered
    for text in messages(at):
        shown = outside_code(text)
        for bad in ("evil.example", "127.0.0.1", "<img", "onerror", "**bold**"):
            assert bad not in shown, (page, text)


@pytest.fixture
def damaged_root(tmp_path, monkeypatch):
    """A pretrained/ with two good models, one corrupted, one linked from outside the tree."""
    root = tmp_path / "pretrained"
    root.mkdir()
    for name in ("mnist-test", "aae-mixture10-2d", "vae-mixture10-2d", "semi-aae-100"):
        shutil.copytree(aae_core.PRETRAINED_DIR / name, root / name)
    shutil.copytree(aae_core.PRETRAINED_DIR / "aae-gaussian-2d", root / "aae-gaussian-2d")
    weights = root / "aae-gaussian-2d" / "model.safetensors.xz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    outside = tmp_path / "elsewhere" / "vae-gaussian-2d"
    shutil.copytree(aae_core.PRETRAINED_DIR / "vae-gaussian-2d", outside)
    (root / "vae-gaussian-2d").symlink_to(outside, target_is_directory=True)
    monkeypatch.setattr(aae_core, "PRETRAINED_DIR", root)
    st.cache_resource.clear()
    yield root
    st.cache_resource.clear()


def test_a_symlink_out_of_the_tree_is_refused(damaged_root):
    with pytest.raises(WeightsError, match="outside pretrained/"):
        aae_core.load_pretrained("vae-gaussian-2d")
    folder = damaged_root / "aae-mixture10-2d"
    (folder / "card.json").unlink()
    (folder / "card.json").symlink_to(damaged_root.parent / "elsewhere" / "vae-gaussian-2d" / "card.json")
    with pytest.raises(WeightsError, match="outside its weights folder"):
        load_model(folder)


@pytest.mark.parametrize("page", ["views/home.py", "views/latent_map.py", "views/compare.py", "views/paper.py"])
def test_a_damaged_weights_folder_gets_one_path_free_notice(damaged_root, page):
    at = open_page(page, {"model": "aae-gaussian-2d"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    notices = [w.value for w in at.sidebar.warning]
    assert len(notices) == 1
    assert "aae-gaussian-2d" in notices[0] and "sha256 does not match" in notices[0]
    assert "vae-gaussian-2d" in notices[0] and "outside" in notices[0]
    everything = " ".join(messages(at))
    assert str(damaged_root) not in everything and str(damaged_root.parent) not in everything
    if page == "views/latent_map.py":  # asked for in the URL: says why it is not shown, and shows another
        assert any("aae-gaussian-2d" in i.value and "was refused" in i.value for i in at.info)
        assert at.selectbox(key="model").value == "aae-mixture10-2d"
    if page == "views/home.py":
        assert len(table_rows(at)) == 3  # the three good models are listed


def test_a_folder_that_passes_the_survey_but_not_the_load_gets_a_path_free_error(damaged_root):
    """The survey checks sizes, hashes and configs without building networks; a weights file whose
    tensors are wrong (manifest rewritten to match) is refused when a page loads it, without paths."""
    from aae_core.weights import read_json, write_manifest
    from app import resources

    folder = damaged_root / "aae-mixture10-2d"
    config = read_json(folder / "config.json")
    config["config"]["hidden"] = [int(h) + 1 for h in config["config"]["hidden"]]  # shapes no longer fit
    (folder / "config.json").write_text(__import__("json").dumps(config))
    manifest = read_json(folder / "manifest.json")
    write_manifest(folder, list(manifest["files"]), {k: v for k, v in manifest.items() if k not in ("files", "format")})
    assert "aae-mixture10-2d" in resources.cards()  # sizes and hashes agree: listed
    with pytest.raises(WeightsError) as err:
        resources.model("aae-mixture10-2d")
    assert "aae-mixture10-2d could not be loaded" in str(err.value) and str(damaged_root) not in str(err.value)
