"""A real browser (Debian's Chromium, driven by Playwright) against the real app server."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from app.bench_load import POINTER_MOTION

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the app server did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: `make test` installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def live_image(page):
    """The <img> of the slider-driven frame (captioned 'D(z(t)) at t = …')."""
    box = page.locator('[data-testid="stImage"]').filter(has_text="D(z(t)) at t =")
    expect(box).to_have_count(1, timeout=120_000)
    return box.locator("img"), box


def test_interpolation_slider_morphs_the_digit_in_a_real_browser(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/interpolation")
    img, box = live_image(page)
    expect(box).to_contain_text("t = 0.50", timeout=120_000)
    src_before = img.get_attribute("src")
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text="t (0 = A, 1 = B)").get_by_role("slider")
    thumb.focus()
    for _ in range(20):
        thumb.press("ArrowRight")
    expect(box).to_contain_text("t = 0.70", timeout=30_000)
    expect(img).not_to_have_attribute("src", src_before, timeout=30_000)
    # the in-browser scrubber holds every frame in the page: dragging it morphs with no server round trip
    scrubber = page.frame_locator("iframe").first
    frame, t_input = scrubber.locator("#frame"), scrubber.locator("#t")
    expect(frame).to_have_attribute("aria-label", "the decoded digit at t = 0.00", timeout=60_000)
    t_input.fill("30")  # frame 30 of 41: t = 0.75
    expect(scrubber.locator("#label")).to_have_text("t = 0.75")
    expect(frame).to_have_css("background-position", "0px -9600px")
    scrubber.locator("#play").click()
    expect(scrubber.locator("#label")).not_to_have_text("t = 0.75", timeout=10_000)  # it plays by itself
    # the GIF is made when the button is clicked (not on every run), and is a GIF of the walk
    with page.expect_download(timeout=60_000) as download:
        page.get_by_text("Download the walk as a GIF").click()
    assert download.value.suggested_filename.endswith(".gif")
    assert Path(download.value.path()).read_bytes()[:6] == b"GIF89a"
    page.close()


def test_every_page_renders_without_an_error(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    for path, title, charts in [("", "aae-explorer", 0), ("latent-map", "Latent map", 0),
                                ("vae-vs-aae", "VAE vs AAE", 2), ("interpolation", "Interpolation", 0),
                                ("zoo", "Model zoo", 0), ("ae-vs-vae", "AE vs VAE", 2), ("denoising", "Denoising", 2)]:
        page.goto(f"{server}/{path}")
        expect(page.locator("h1").first).to_contain_text(title, timeout=120_000)
        expect(page.locator(".js-plotly-plot")).to_have_count(charts, timeout=120_000)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    page.close()


def test_presentation_mode_doubles_the_pictures_and_each_saves_as_a_png(server, browser):
    def first_picture_width(url: str) -> int:
        page.goto(url)
        img = page.locator('[data-testid="stImage"] img').first
        expect(img).to_be_visible(timeout=120_000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
        return img.evaluate("img => img.naturalWidth")

    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    normal = first_picture_width(f"{server}/neighbours?idx=3")
    big = first_picture_width(f"{server}/neighbours?idx=3&present=1")
    assert big >= 1.9 * normal, (normal, big)
    expect(page.get_by_role("switch", name="Presentation mode")).to_be_checked()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="PNG").first.click()
    assert download.value.suggested_filename.endswith(".png")
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.close()


MAP_FRAME = 'iframe[title*="latent_canvas"]'


def latent_map(page):
    """The latent map component on ``page`` once its points are drawn: its frame (for the page's mouse) and
    a function from map coordinates to page coordinates."""
    expect(page.frame_locator(MAP_FRAME).locator('body[data-drawn="1"]')).to_have_count(1, timeout=120_000)
    frame = next(f for f in page.frames if "latent_canvas" in f.url)
    box = page.frame_locator(MAP_FRAME).locator("#overlay").bounding_box()

    def at(x: float, y: float) -> tuple[float, float]:
        px, py = frame.evaluate(f"window.aaeMap.toPage({x}, {y})")
        return box["x"] + px, box["y"] + py
    return frame, at


def drag(page, points) -> None:
    page.mouse.move(*points[0])
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*p, steps=6)
    page.mouse.up()


def test_clicking_the_latent_map_decodes_what_is_under_the_mouse(server, browser):
    """The Latent map page's map (the latent_canvas component): hover names what is under the pointer; a
    click on empty space decodes that spot, a click on a dot shows that test digit, each marked at once and
    the coordinate inputs following it; a box and a lasso report their true counts — the same points the
    browser marks and the server counts (one rule, aae_core.map_select)."""
    import numpy as np

    import aae_core
    from aae_core.map_select import in_polygon

    codes = aae_core.pretrained_codes("aae-gaussian-2d")["codes"].float().numpy()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/latent-map?model=aae-gaussian-2d")
    frame, at = latent_map(page)
    tip = page.frame_locator(MAP_FRAME).locator("#tip")
    captions = page.locator('[data-testid="stImageCaption"]')
    expect(captions.filter(has_text="decoded spots")).to_have_count(0)
    lo, hi = frame.evaluate("window.aaeMap.view()")[:2]
    empty = (0.92 * hi, 0.92 * hi)  # the frame's upper right corner: outside the prior's 99 % outline
    assert not (np.abs(codes - np.array(empty)) < 0.05 * (hi - lo)).all(axis=1).any()
    page.mouse.move(*at(*empty))
    expect(tip).to_contain_text("click to decode", timeout=10_000)
    page.mouse.click(*at(*empty))
    expect(captions.filter(has_text="decoded spots (1 of 1 selected)")).to_have_count(1, timeout=30_000)
    sent = frame.evaluate("window.aaeMap.sent()")
    assert sent["kind"] == "click" and sent["index"] == -1 and abs(sent["x"] - empty[0]) < 0.02 * (hi - lo)
    expect(page.get_by_role("spinbutton", name="z₁")).to_have_value(f"{round(sent['x'], 2):.2f}", timeout=30_000)  # the inputs follow
    expect(page.get_by_role("spinbutton", name="z₂")).to_have_value(f"{round(sent['y'], 2):.2f}")
    # a dot, well apart from the others: its test digit and its reconstruction
    d = ((codes[:, None, :] - codes[None, :300, :]) ** 2).sum(-1)
    np.fill_diagonal(d[:300], np.inf)
    k = int(np.argmax(d.min(0)))  # of the first 300 test codes, the one farthest from any other
    page.mouse.move(*at(*codes[k]))
    expect(tip).to_contain_text(f"test image #{k} ", timeout=10_000)
    page.mouse.click(*at(*codes[k]))
    expect(captions.filter(has_text="top: the test images")).to_have_count(1, timeout=30_000)
    counted = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text=re.compile(r"^[\d,]+ test digit\(s\) selected"))
    expect(counted).to_contain_text(f"#{k} (label", timeout=30_000)
    assert frame.evaluate("window.aaeMap.selectedCount()") == 1 and frame.evaluate("window.aaeMap.sent()")["index"] == k
    # a box round the middle: its true count, a fair sample of 16, the same points marked in the browser
    page.frame_locator(MAP_FRAME).get_by_role("button", name="Box").click()
    drag(page, [at(lo + 0.3 * (hi - lo), lo + 0.3 * (hi - lo)), at(lo + 0.6 * (hi - lo), lo + 0.65 * (hi - lo))])
    expect(counted).to_contain_text("a random sample of 16 of them", timeout=30_000)
    n = int(counted.text_content().split(" ")[0].replace(",", ""))
    x0, x1, y0, y1 = frame.evaluate("window.aaeMap.sent()")["box"]
    c = codes.astype(np.float64)
    assert n == int(((c[:, 0] >= x0) & (c[:, 0] <= x1) & (c[:, 1] >= y0) & (c[:, 1] <= y1)).sum()) > 16
    assert frame.evaluate("window.aaeMap.selectedCount()") == n
    # a lasso: a triangle drawn by hand
    page.frame_locator(MAP_FRAME).get_by_role("button", name="Lasso").click()
    drag(page, [at(lo + 0.25 * (hi - lo), lo + 0.25 * (hi - lo)), at(lo + 0.75 * (hi - lo), lo + 0.3 * (hi - lo)),
                at(lo + 0.5 * (hi - lo), lo + 0.75 * (hi - lo)), at(lo + 0.26 * (hi - lo), lo + 0.26 * (hi - lo))])
    sent = frame.evaluate("window.aaeMap.sent()")
    assert sent["kind"] == "lasso" and len(sent["path"]) >= 12
    inside = int(in_polygon(c, np.reshape(sent["path"], (-1, 2))).sum())
    expect(counted).to_contain_text(f"{inside:,} test digit(s) selected", timeout=30_000)
    assert frame.evaluate("window.aaeMap.selectedCount()") == inside > 16
    # the view zooms under the wheel and comes back with "Reset view"
    page.mouse.move(*at(0.0, 0.0))
    for _ in range(3):  # three notches of the wheel, towards the screen
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(100)
    zoomed = frame.evaluate("window.aaeMap.view()")
    assert zoomed[1] - zoomed[0] < 0.7 * (hi - lo) and zoomed[0] < 0 < zoomed[1]  # about the pointer
    page.frame_locator(MAP_FRAME).get_by_role("button", name="Reset view").click()
    page.wait_for_timeout(300)
    assert frame.evaluate("window.aaeMap.view()")[:2] == [lo, hi]
    expect(page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')).to_have_count(0)
    page.close()


def test_the_clusters_map_shows_a_cluster_s_members_to_look_at(server, browser):
    """The Clusters page's map: the component without tools — no toolbar, the wheel scrolls the page — over
    which hovering a member names its test image; another cluster redraws it."""
    import numpy as np

    import aae_core
    from aae_core import projections

    probs = aae_core.pretrained_codes("cluster-aae-16")["probs"].numpy()
    k = int(np.bincount(probs.argmax(1), minlength=16).argmax())  # the largest cluster
    codes = aae_core.pretrained_codes("cluster-aae-16")["codes"].float().numpy()
    xy = projections.read(aae_core.PRETRAINED_DIR / "cluster-aae-16", codes)["umap"]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/clusters?model=cluster-aae-16&cluster={k}")
    frame, at = latent_map(page)
    expect(page.frame_locator(MAP_FRAME).locator("#tools")).to_be_hidden()
    member = int(np.flatnonzero(probs.argmax(1) == k)[0])
    view = frame.evaluate("window.aaeMap.view()")
    page.frame_locator(MAP_FRAME).locator("#overlay").scroll_into_view_if_needed()
    frame, at = latent_map(page)
    page.mouse.move(*at(*xy[member]))
    expect(page.frame_locator(MAP_FRAME).locator("#tip")).to_contain_text("test image #", timeout=10_000)
    page.mouse.wheel(0, -300)
    page.wait_for_timeout(300)
    assert frame.evaluate("window.aaeMap.view()") == view  # no zoom: the page scrolled instead
    expect(page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')).to_have_count(0)
    page.close()


def decoder_frame(page, url: str):
    """The in-browser decoder's frame on ``url``, once its ONNX session is loaded."""
    page.goto(url)
    page.wait_for_selector("iframe", timeout=120_000)
    deadline = time.time() + 60
    while not (frames := [f for f in page.frames if "latent_canvas" in f.url]) and time.time() < deadline:
        time.sleep(0.2)
    frame = frames[0]
    frame.wait_for_function("window.aaeDecoder && (window.aaeDecoder.stats().ready || window.aaeDecoder.stats().error)",
                            timeout=120_000)
    assert frame.evaluate("window.aaeDecoder.stats().error") is None
    return frame


@pytest.mark.parametrize("name, view, args", [("aae-gaussian-2d", "plane", None), ("supervised-aae-2d", "plane", 7),
                                              ("semi-aae-100", "pca", None), ("semi-aae-100", "umap", None),
                                              ("aae-conv-2d", "plane", None)])
def test_the_browser_decodes_under_the_pointer_as_the_server_does(server, browser, name, view, args):
    """Pointer moves change the decoded image, every move is decoded, and the browser's pixels are the
    server's decode of the same code to 1/255 — a 2-D plane, a decoder given a digit, a PCA's inverse, a
    convolutional decoder (transposed convolutions)."""
    import numpy as np
    import torch

    import aae_core
    from aae_core import projections

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    frame = decoder_frame(page, f"{server}/mouse?model={name}" + ("" if view == "plane" else f"&view={view}"))
    if view != "plane":
        expect(page.get_by_role("radio", name="PCA — decodes anywhere" if view == "pca" else "UMAP — decodes the nearest",
                                exact=False)).to_be_checked()
    image = "document.getElementById('decoded').getContext('2d').getImageData(0, 0, 28, 28).data.join(',')"
    blank = frame.evaluate(image)
    counts = frame.evaluate(POINTER_MOTION, 1500)
    assert counts["decoded"] >= 0.9 * counts["moves"] > 10, counts  # (nearly) every move decoded
    first = frame.evaluate(image)
    assert first != blank
    frame.evaluate(POINTER_MOTION, 300)
    assert frame.evaluate(image) != first  # the image follows the pointer
    model = aae_core.load_pretrained(name)
    x, y = 0.7, -1.3
    if view == "plane":
        z = torch.tensor([[x, y]])
    else:
        c = aae_core.pretrained_codes(name)["codes"].float().numpy()
        proj = projections.read(aae_core.PRETRAINED_DIR / name, c)
        i = int(np.argmin(((proj[view] - np.array([x, y])) ** 2).sum(1)))  # the nearest test digit on the map
        z = torch.from_numpy(proj["pca_mean"] + x * proj["pca_components"][0] + y * proj["pca_components"][1]
                             if view == "pca" else c[i]).float()[None]  # PCA: its inverse; UMAP: the nearest code
    if model.label_input:
        if args is None:  # the nearest test digit's q(y|x), as the page's default says
            labels = torch.from_numpy(aae_core.pretrained_codes(name)["probs"].float().numpy()[i:i + 1])
        else:
            labels = torch.tensor([args])
        theirs = model.decode(z, labels)
    else:
        theirs = model.decode(z)
    ours = np.array(frame.evaluate(f"window.aaeDecoder.decodeAt({x}, {y}, {args or 0})"))
    assert np.abs(ours - theirs.detach().numpy()[0]).max() <= 1 / 255
    page.close()


def test_every_shipped_model_opens_on_the_latent_map(server, browser):
    """2-D codes as a decodable plane, label-reading 2-D codes and codes above 2-D as a map (UMAP); every
    MNIST model (the Fashion-MNIST pair is on the VAE-vs-AAE page: its test images do not ship)."""
    import aae_core

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    names = [n for n in aae_core.list_pretrained() if aae_core.pretrained_card(n).get("dataset", "mnist") == "mnist"]
    assert len(names) >= 17
    for name in names:
        page.goto(f"{server}/latent-map?model={name}")
        expect(page.locator("h1").first).to_contain_text("Latent map", timeout=120_000)
        frame, _ = latent_map(page)
        dim = aae_core.pretrained_card(name)["latent_dim"]
        assert frame.evaluate("window.aaeMap.axes()")[0] == ("UMAP 1" if dim > 2 else "z₁"), name
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    page.close()


def test_every_new_page_renders_without_an_error(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    for path, title in [("styles", "Style explorer"), ("label-manifolds", "Label-conditioned manifolds"),
                        ("clusters", "Clusters without labels"), ("dimred", "Dimensionality reduction"),
                        ("neighbours", "Nearest neighbours"), ("draw", "Draw or upload a digit"),
                        ("paper", "The paper's numbers")]:
        page.goto(f"{server}/{path}")
        expect(page.locator("h1").first).to_contain_text(title, timeout=120_000)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    page.close()


def results_of_a_digit(page):
    """What the draw page shows once it has a digit: the 28×28 view, the reconstruction, the rewrite."""
    captions = page.locator('[data-testid="stImageCaption"]')
    expect(captions.filter(has_text="28×28, MNIST-style")).to_have_count(1, timeout=120_000)
    expect(captions.filter(has_text="its reconstruction D(E(x))")).to_have_count(1, timeout=60_000)
    expect(page.get_by_text("Read as a")).to_have_count(1, timeout=60_000)
    expect(page.get_by_text("Your style, written as every digit")).to_have_count(1, timeout=60_000)


@pytest.mark.parametrize("present", [False, True])
def test_drawing_a_digit_gets_it_encoded_read_and_rewritten(server, browser, present):
    """On the drawing pad (app/components/digit_pad); in presentation mode it is twice as large, its
    strokes twice as wide, and the same drawing is read the same way."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/draw" + ("?present=1" if present else ""))
    pad = page.frame_locator('iframe[title*="digit_pad"]').locator("canvas#pad")
    expect(pad).to_be_visible(timeout=120_000)
    box = pad.bounding_box()
    s = box["width"] / 280
    assert s == pytest.approx(2.0 if present else 1.0)
    cx, top = box["x"] + box["width"] / 2, box["y"]
    page.mouse.move(cx - 30 * s, top + 50 * s)  # a "1" with a small flag at the top
    page.mouse.down()
    page.mouse.move(cx, top + 35 * s, steps=5)
    page.mouse.move(cx, top + box["height"] - 40 * s, steps=25)
    page.mouse.up()
    results_of_a_digit(page)
    undo = page.frame_locator('iframe[title*="digit_pad"]').get_by_role("button", name="Undo")
    undo.click()  # the only stroke taken back: the pad is empty again, and the page says so
    expect(page.get_by_text("Draw a digit on the black square.")).to_have_count(1, timeout=60_000)
    expect(page.get_by_text("Read as a")).to_have_count(0)
    page.close()


def test_uploading_an_image_gets_it_encoded_read_and_rewritten(server, browser):
    import io

    from PIL import Image

    import aae_core

    seven = Image.fromarray(255 - aae_core.load_test_set().images[0]).resize((150, 150))  # dark ink on white
    buf = io.BytesIO()
    seven.save(buf, "JPEG")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/draw")
    expect(page.locator("h1").first).to_contain_text("Draw or upload", timeout=120_000)
    page.get_by_role("tab", name="Upload an image").click()
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "seven.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}])
    results_of_a_digit(page)
    expect(page.get_by_text("Read as a 7")).to_have_count(1, timeout=30_000)
    page.close()


def test_crafted_links_show_text_not_links_or_images_in_a_real_browser(server, browser):
    """Issue 14: `?model=[click me](https://evil…)` once rendered a live link inside the app's notice,
    and `![t](http://127.0.0.1:9/b.png)` made every visitor's browser fetch an image."""
    from urllib.parse import quote

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    from urllib.parse import urlsplit

    fetched = []
    page.on("request", lambda r: fetched.append(r.url) if urlsplit(r.url).netloc in ("127.0.0.1:9", "evil.example")
            else None)
    link, image = "[click me](https://evil.example/phish)", "![t](http://127.0.0.1:9/b.png)"
    for path in ("clusters", "latent-map", "styles", "interpolation"):
        page.goto(f"{server}/{path}?model={quote(link)}&digit={quote(image)}&a={quote(image)}&style={quote(link)}")
        expect(page.locator("h1").first).to_be_visible(timeout=120_000)
        expect(page.get_by_text("click me", exact=False).first).to_be_visible(timeout=60_000)  # shown as text
        expect(page.locator('a[href*="evil.example"]')).to_have_count(0)
        expect(page.locator('img[src*="127.0.0.1:9"]')).to_have_count(0)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    # an upload's file name is never rendered as markup either
    page.goto(f"{server}/draw")
    expect(page.locator("h1").first).to_contain_text("Draw or upload", timeout=120_000)
    page.get_by_role("tab", name="Upload an image").click()
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "[x](https://evil.example).png", "mimeType": "image/png", "buffer": b"not a png"}])
    expect(page.get_by_text("could not be used")).to_have_count(1, timeout=60_000)
    expect(page.locator("code").filter(has_text="[x](https://evil.example).png")).to_have_count(1)  # named, as text
    expect(page.locator('a[href*="evil.example"]')).to_have_count(0)
    assert fetched == []
    page.close()


def test_the_app_is_whole_offline_no_request_leaves_the_machine(server, browser):
    """Every request a page makes (fonts, icons, scripts) goes to the app's own server."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server) and not r.url.startswith("data:")
            and not r.url.startswith("blob:") else None)
    for path in ("", "latent-map", "clusters"):
        page.goto(f"{server}/{path}")
        expect(page.locator("h1").first).to_be_visible(timeout=120_000)
        page.wait_for_timeout(1500)
    assert outside == []
    page.close()


def finished_runs(page) -> list[int]:
    """A live count of the script runs the server reports finished to ``page`` (ForwardMsg script_finished)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    count = [0]

    def frame(payload):
        if isinstance(payload, bytes):
            try:
                msg = ForwardMsg.FromString(payload)
            except Exception:  # not a ForwardMsg
                return
            if msg.WhichOneof("type") == "script_finished":
                count[0] += 1
    page.on("websocket", lambda ws: ws.on("framereceived", frame))
    return count


def test_hostile_uploads_through_the_real_widget_leave_the_page_alive(server, browser):
    """A sample of the generated hostile files (issue 14), each pushed through the upload widget: every
    one is read or refused with a message, never a traceback; afterwards a real digit is still read."""
    import urllib.request

    import numpy as np
    from PIL import Image

    from test_preprocess import bad_variants, encode, good_variants

    from app.helpers import literal

    rng = np.random.default_rng(1)
    goods = good_variants(rng)
    bad = dict(bad_variants(rng, goods))
    sample = [(n, bad[n]) for n in ("bomb.png", "bomb-wide.png", "zero.png", "blank.png", "html", "pdf", "zip",
                                    "junk-1", "junk-2", "junk-3", "junk-5")]
    sample += [(n, d) for n, d in bad.items() if n.startswith(("truncated-", "flipped-"))][:8:2]
    sample += [("tiny.png", encode(Image.new("L", (2, 2), 0), "PNG")),
               ("16-bit.png", dict(goods)["I;16.PNG"]),
               ("![t](http://127.0.0.1:9/b.png).png", bad["junk-0"]), ("\u202egnp.exe", bad["text"])]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    runs = finished_runs(page)
    page.goto(f"{server}/draw")
    expect(page.locator("h1").first).to_contain_text("Draw or upload", timeout=120_000)
    page.get_by_role("tab", name="Upload an image").click()
    refused = page.get_by_text("could not be used")
    read = page.locator('[data-testid="stImageCaption"]').filter(has_text="28×28, MNIST-style")
    outcomes = {}
    for name, data in sample:
        before = runs[0]
        page.locator('input[type="file"]').set_input_files(
            files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
        for _ in range(600):  # the rerun the upload causes (≤ 60 s)
            if runs[0] > before:
                break
            page.wait_for_timeout(100)
        assert runs[0] > before, f"{name!r}: the upload caused no rerun"
        # the outcome names this file (as text): a run's message can reach the socket before the page
        # has drawn it, so the previous file's outcome may still be on screen for a moment
        expect(page.locator("code").filter(has_text=literal(name).strip("` "))).to_have_count(1, timeout=30_000)
        expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')).to_have_count(1)
        expect(refused.or_(read)).to_have_count(1, timeout=30_000)  # drawn
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
        assert refused.count() + read.count() == 1, name  # one outcome, with words, for every file
        outcomes[name] = "refused" if refused.count() else "read"
        assert urllib.request.urlopen(f"{server}/_stcore/health", timeout=10).read() == b"ok"
    assert outcomes["16-bit.png"] == "read" and outcomes["bomb.png"] == "refused"
    assert list(outcomes.values()).count("refused") >= 12
    expect(page.get_by_text("too small")).to_have_count(0)  # the last file's message replaced the tiny one's
    seven = Image.fromarray(255 - __import__("aae_core").load_test_set().images[0]).resize((150, 150))
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "seven.png", "mimeType": "image/png", "buffer": encode(seven, "PNG")}])
    results_of_a_digit(page)
    expect(page.get_by_text("Read as a 7")).to_have_count(1, timeout=30_000)
    page.close()
