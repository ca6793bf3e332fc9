"""Decode under the mouse: a Streamlit component that draws a model's latent map with WebGL and runs
its decoder in the browser (ONNX, onnxruntime-web's WebAssembly backend), so that the pointer decodes at
display rate with no server round trip. What the app serves is ``frontend/public``: the hand-written
``index.html`` and ``main.js`` and onnxruntime-web's runtime (its script, its loader and its WebAssembly,
gzip-compressed), which ``npm ci && npm run build`` (in ``frontend/``, pinned by ``package-lock.json``)
puts there; it ships in the repository."""
from __future__ import annotations

from pathlib import Path

import streamlit.components.v1 as components

BUILD = Path(__file__).resolve().parent / "frontend" / "public"
RUNTIME = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm.gz")
_component = components.declare_component("mouse_decoder", path=str(BUILD))


def mouse_decoder(payload: dict, key: str) -> None:
    """Draw the map of ``payload`` (``aae_core.browser_map.payload``)."""
    if not all((BUILD / f).is_file() for f in RUNTIME):
        raise FileNotFoundError("the decoder component's front-end is missing (app/components/mouse_decoder/frontend/"
                                "public): run `npm ci && npm run build` in its frontend folder")
    _component(**payload, key=key, default=None)
