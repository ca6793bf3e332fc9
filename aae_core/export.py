"""A model's decoder as ONNX, for decoding in the browser (the app's "Decode under the mouse").

``decoder_onnx(model)`` → the bytes of an ONNX model with inputs ``z`` (1×d float32) and, for a
decoder that reads a label or a cluster beside the code, ``y`` (1×K float32: one-hot or q(y|x)),
and one output ``pixels`` (1×784 float32 in [0, 1]: the sigmoid of the decoder's logits) — the same
numbers as ``model.decode``. Exported with torch's TorchScript-based exporter (opset 17), which
needs the ``onnx`` package; an MLP decoder's ops are Gemm, Relu, Concat, Cast and Sigmoid, a
convolutional one's add ConvTranspose (and Reshape, BatchNormalization), all of which onnxruntime-web's
WebAssembly backend runs to within 1/255 of PyTorch (tested in Chromium, both kinds). (Its WebGL backend,
used before, computed ConvTranspose differently: up to 100/255 per pixel, measured.)
"""
from __future__ import annotations

import io
import warnings

import torch
from torch import nn

OPSET = 17


class _DecodePixels(nn.Module):
    """z (and y) → pixel intensities, as ``model.decode``."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.model.decode_logits(z, y))  # N×784


def decoder_inputs(model) -> dict[str, int]:
    """The exported decoder's inputs and their widths: {"z": d} or {"z": d, "y": K}."""
    return {"z": model.latent_dim, **({"y": model.n_classes} if model.label_input else {})}


def decoder_onnx(model) -> bytes:
    """The decoder of ``model`` (eval mode, any device) as ONNX bytes, for one code at a time (batch 1:
    the browser decodes one point at a time)."""
    try:
        import onnx  # noqa: F401  (the exporter needs it; a clear message where it is missing)
    except ImportError as exc:
        raise RuntimeError("exporting a decoder to ONNX needs the onnx package (pip install -r requirements.txt)") from exc
    model = model.cpu().eval()
    widths = decoder_inputs(model)
    args = tuple(torch.zeros(1, w) for w in widths.values())
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(_DecodePixels(model), args, buffer, dynamo=False, opset_version=OPSET,
                          input_names=list(widths), output_names=["pixels"])
    return buffer.getvalue()
