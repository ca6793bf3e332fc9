"""The latent map: a Streamlit component that draws a model's test codes with WebGL, in one of two
modes (``aae_core.browser_map``): **select** — click a dot or empty space, drag a box or a lasso; the
browser marks it at once and the component's value says what was picked (``aae_core.map_select`` reads
it) — and **decode** — the model's decoder runs in the browser (ONNX, onnxruntime-web's WebAssembly
backend), so that the pointer decodes at display rate with no server round trip. What the app serves is
``frontend/public``, which ``npm ci && npm run build`` (in ``frontend/``, pinned by ``package-lock.json``)
writes and which ships in the repository: the hand-written ``src/index.html`` with ``src/map.js`` and
``src/main.js`` inlined (one request for the frame), and onnxruntime-web's runtime (its script, its loader
and its WebAssembly, gzip-compressed)."""
from __future__ import annotations

import json
from pathlib import Path

import streamlit.components.v1 as components

BUILD = Path(__file__).resolve().parent / "frontend" / "public"
RUNTIME = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm.gz")
_component = components.declare_component("latent_canvas", path=str(BUILD))


def latent_canvas(payload: dict, key: str):
    """Draw the map of ``payload`` (``aae_core.browser_map``: ``select_payload`` or ``payload``). In
    select mode: the last selection's value (a dict, or None), kept across reruns and redrawn by a
    fresh frame; in decode mode: None."""
    if payload.get("mode") == "decode" and not all((BUILD / f).is_file() for f in RUNTIME):
        raise FileNotFoundError("the decoder component's front-end is missing (app/components/latent_canvas/frontend/"
                                "public): run `npm ci && npm run build` in its frontend folder")
    if payload.get("mode") != "select":
        _component(**payload, key=key, default=None)
        return None
    import streamlit as st

    last = st.session_state.get(key)
    return _component(**payload, restore=json.dumps(last) if isinstance(last, dict) else None, key=key, default=None)
