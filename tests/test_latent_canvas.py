"""The latent map component in decode mode (issue 13): the decoder's ONNX export, the map's arguments, and the page
through AppTest (the browser side: tests/test_browser.py)."""
import json

import numpy as np
import pytest

import aae_core
from aae_core import browser_map
from aae_core.export import decoder_inputs, decoder_onnx
from app.components.latent_canvas import BUILD, RUNTIME
from tests.test_app import canvas_args, open_page


@pytest.mark.parametrize("name", ["aae-gaussian-2d", "supervised-aae-2d", "cluster-aae-16", "aae-conv-2d"])
def test_the_exported_decoder_is_the_model_s_decode(name):
    """The ONNX graph holds the model's own weights and its inputs are the decoder's: z (and y)."""
    import onnx
    from onnx import numpy_helper

    model = aae_core.load_pretrained(name)
    proto = onnx.load_from_string(decoder_onnx(model))
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.input] == list(decoder_inputs(model)) and proto.graph.output[0].name == "pixels"
    dims = [[d.dim_value for d in i.type.tensor_type.shape.dim] for i in proto.graph.input]
    assert dims == [[1, w] for w in decoder_inputs(model).values()]
    stored = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    last = [p for k, p in model.decoder.named_parameters() if k.endswith("weight")][-1].detach().numpy()
    assert any(v.shape == last.shape and np.allclose(v, last) for v in stored.values())  # its own weights
    ops = {n.op_type for n in proto.graph.node}
    assert "Sigmoid" in ops and ops <= {"Gemm", "Relu", "Sigmoid", "Concat", "Cast", "ConvTranspose", "Reshape",
                                        "Flatten", "Constant", "BatchNormalization"}


def test_a_map_point_becomes_a_code_as_the_view_says():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(50, 6)).astype(np.float32)
    mean = codes.mean(0)
    _, _, vt = np.linalg.svd(codes - mean, full_matrices=False)
    proj = {"pca": (codes - mean) @ vt[:2].T, "pca_mean": mean, "pca_components": vt[:2], "umap": codes[:, :2]}
    view = browser_map.map_view(codes, "pca", proj)
    point = view.points[7]
    z = np.array(view.linear["mean"]) + point[0] * np.array(view.linear["basis"][0]) + point[1] * np.array(view.linear["basis"][1])
    # the PCA's inverse: the code's projection onto the first two components, plus the mean
    np.testing.assert_allclose(z, mean + (codes[7] - mean) @ vt[:2].T @ vt[:2], atol=1e-5)
    x0, x1, y0, y1 = view.extent
    assert x0 < view.points[:, 0].min() < x1 and x1 - x0 == y1 - y0  # a square frame round the points
    assert browser_map.map_view(codes, "umap", proj).linear is None  # no inverse: decode at the nearest code
    plane = browser_map.map_view(codes[:, :2], "plane", extent=(-3.0, 3.0))
    assert plane.linear["basis"] == [[1.0, 0.0], [0.0, 1.0]] and plane.extent == (-3.0, 3.0, -3.0, 3.0)
    with pytest.raises(ValueError, match="has no plane"):
        browser_map.map_view(codes, "plane")
    with pytest.raises(ValueError, match="no stored projection"):
        browser_map.map_view(codes, "umap", None)


def test_the_payload_carries_what_the_browser_decodes_from():
    codes = np.random.default_rng(1).normal(size=(20, 3)).astype(np.float32)
    labels = np.arange(20) % 10
    images = np.zeros((20, 784), np.uint8)
    proj = {"umap": codes[:, :2], "pca": codes[:, :2], "pca_mean": np.zeros(3), "pca_components": np.eye(3)[:2]}
    view = browser_map.map_view(codes, "umap", proj)
    out = browser_map.payload(view, codes, labels, images, k=10, y_source="nearest", key="m/umap/nearest", onnx=b"x")
    f32 = lambda b: np.frombuffer(b, dtype="<f4")  # noqa: E731  (what the browser reads: Float32Array)
    np.testing.assert_array_equal(f32(out["codes"]).reshape(20, 3), codes)  # decoded at the nearest code
    np.testing.assert_array_equal(f32(out["points"]).reshape(20, 2), view.points)
    assert np.frombuffer(out["labels"], np.uint8).tolist() == labels.tolist() and len(out["images"]) == 20 * 784
    assert f32(out["ys"]).reshape(20, 10).argmax(1).tolist() == labels.tolist()  # one-hot true labels
    probs = np.full((20, 10), 0.1, np.float32)
    shared = images.tobytes()
    out = browser_map.payload(view, codes, labels, shared, k=10, y_source="nearest", probs=probs, key="k", onnx=b"x")
    assert f32(out["ys"])[:10] == pytest.approx([0.1] * 10)  # a model's own q(y|x) where it has one
    assert out["images"] is shared  # the test images' bytes are shared, not copied per map
    plane = browser_map.map_view(codes[:, :2], "plane")
    out = browser_map.payload(plane, codes[:, :2], labels, shared, key="k", onnx=b"x")
    assert json.loads(out["linear"])["basis"] == [[1.0, 0.0], [0.0, 1.0]]  # JSON text, parsed by main.js
    # only the types Streamlit passes without asking whether they are data frames (which imports pandas)
    assert all(v is None or isinstance(v, (tuple, str, bytes, int, float, bool)) for v in out.values())
    with pytest.raises(ValueError, match="does not fit"):
        browser_map.payload(view, codes, labels, images, k=0, y_source="pick", key="k", onnx=b"x")
    with pytest.raises(ValueError, match="as many"):
        browser_map.payload(view, codes, labels[:5], images, key="k", onnx=b"x")


def test_the_built_front_end_ships_with_its_runtime_and_lock_file():
    import json

    import gzip

    assert {p.name for p in BUILD.iterdir()} == {"index.html", *RUNTIME}
    src = BUILD.parent / "src"  # the hand-written sources, inlined into the served page by the build
    html = (src / "index.html").read_text()
    for name in ("map.js", "main.js"):
        html = html.replace(f'<script src="{name}"></script>', f"<script>\n{(src / name).read_text()}</script>")
    assert (BUILD / "index.html").read_text() == html, "run `npm run build` in app/components/latent_canvas/frontend"
    lock = json.loads((BUILD.parent / "package-lock.json").read_text())
    ort = lock["packages"]["node_modules/onnxruntime-web"]
    assert ort["version"] == "1.23.2" and ort["integrity"].startswith("sha512-")  # pinned, checksummed
    assert "ONNX Runtime Web v1.23.2" in (BUILD / "ort.wasm.min.js").read_text()[:200]  # the pinned build, copied
    wasm = gzip.decompress((BUILD / "ort-wasm-simd-threaded.wasm.gz").read_bytes())
    assert wasm[:4] == b"\0asm" and len(wasm) == 11_905_541  # the whole runtime, unpacked as the browser does
    assert "http" not in (BUILD / "index.html").read_text()  # nothing fetched from elsewhere


def test_the_page_offers_each_kind_of_map_and_label():
    at = open_page("views/mouse.py", {"model": "aae-gaussian-2d"})
    assert not at.exception and not at.error
    assert at.title[0].value == "Decode under the mouse" and not at.radio  # a 2-D code is its own map
    (args,) = canvas_args(at)
    assert args["mode"] == "decode" and [o["name"] for o in json.loads(args["outlines"])] == ["50 %", "90 %", "99 %"]
    at = open_page("views/mouse.py", {"model": "semi-aae-100", "view": "umap"})
    assert not at.exception and not at.error
    views, labels = at.radio
    assert views.value == "umap" and labels.value == "nearest"  # from the URL; the model's own q(y|x)
    assert canvas_args(at)[0]["outlines"] is None  # a projection: the prior's outlines belong to the code's plane
    at = open_page("views/mouse.py", {"model": "supervised-aae-2d"})
    assert not at.error and at.radio[0].value == "pick"  # a decoder given the digit: the student picks it
    at = open_page("views/mouse.py", {"model": "aae-conv-2d"})  # a convolutional decoder too (WebAssembly runs it exactly)
    assert not at.exception and not at.error and at.selectbox[0].value == "aae-conv-2d"
    at = open_page("views/mouse.py", {"model": "no-such-model"})
    assert not at.error and any("no-such-model" in i.value for i in at.info)  # ignored, said as text
