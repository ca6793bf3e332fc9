"""Draw a digit: a Streamlit component holding a black square to draw on with the mouse, a pen or a
finger (white ink, round strokes), with *Undo* and *Clear*. After each stroke it sends the drawing to
the server as the bytes of a PNG, which ``aae_core.preprocess.mnist_digit`` reads like any upload (its
size and pixel guards included: what a browser sends is not trusted). Hand-written HTML and JavaScript
in ``frontend/``, no build step; it replaces a third-party canvas whose arguments made Streamlit import
pandas into the server (issue 14)."""
from __future__ import annotations

from pathlib import Path

import streamlit.components.v1 as components

FRONTEND = Path(__file__).resolve().parent / "frontend"
_component = components.declare_component("digit_pad", path=str(FRONTEND))


def digit_pad(key: str, size: int = 280, stroke: int = 20) -> bytes | None:
    """The drawing as PNG bytes (``size``×``size``, white ink ``stroke`` px wide on black) once a stroke
    is drawn; None before the first stroke, after *Clear*, or when what came back is not bytes."""
    value = _component(size=int(size), stroke=int(stroke), key=key, default=None)
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else None
