"""How much room fewer bits would free, and what they cost (docs/training-notes.md, "The relatives"):

    PYTHONPATH=. python docs/scripts/fewer_bits.py [NAME ...]      # default: every shipped model

Each shipped model's weights (as shipped: 8 bits, or 16 where 8 moved a metric too far) rounded again
to 7 bits (|q| ≤ 63) and to 6 bits (|q| ≤ 31) per row, the way ``aae_core.weights.quantize_int8``
rounds to 8; printed: the xz-compressed size and the test reconstruction NLL (the metric 8 bits moved
most) next to the shipped one. A probe, not a shipping path: rounding weights that are already rounded
adds the two errors; rounding the float weights once would do no worse."""
import lzma
import sys

import torch

import aae_core
from aae_core import metrics
from aae_core.weights import SCALE, save_bytes

torch.set_num_threads(1)


def rounded(state: dict[str, torch.Tensor], levels: int) -> dict[str, torch.Tensor]:
    """Per-row symmetric rounding to ±levels: what would be stored (int8 tensors and scales)."""
    out = {}
    for name, w in state.items():
        if w.dim() >= 2:
            scale = w.abs().flatten(1).amax(1) / levels
            scale = torch.where(scale > 0, scale, torch.ones_like(scale))
            out[name] = torch.round(w / scale.view(-1, *[1] * (w.dim() - 1))).clamp(-levels, levels).to(torch.int8)
            out[name + SCALE] = scale
        else:
            out[name] = w
    return {k: v.contiguous() for k, v in out.items()}


def restored(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {n: (w.float() * stored[n + SCALE].view(-1, *[1] * (w.dim() - 1)) if w.dtype == torch.int8 else w)
            for n, w in stored.items() if not n.endswith(SCALE)}


def main(names: list[str]) -> None:
    test = aae_core.load_test_set()
    x = torch.from_numpy(test.flat_float())
    for name in names:
        model = aae_core.load_pretrained(name)
        state = {k: v.clone() for k, v in model.inference_state_dict().items()}
        labels = torch.as_tensor(test.labels).long() if model.label_input else None
        shipped = metrics.reconstruction_error(model, x, labels=labels)["recon_bce"]
        size = (aae_core.PRETRAINED_DIR / name / "model.safetensors.xz").stat().st_size
        row = [f"{name}: shipped {size / 1e6:.2f} MB, recon {shipped:.2f}"]
        for bits, levels in ((7, 63), (6, 31)):
            stored = rounded(state, levels)
            model.load_inference_state_dict(restored(stored))
            recon = metrics.reconstruction_error(model, x, labels=labels)["recon_bce"]
            row.append(f"{bits} bits {len(lzma.compress(save_bytes(stored), preset=6)) / 1e6:.2f} MB, "
                       f"recon {recon:.2f} ({(recon - shipped) / shipped:+.2%})")
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or [n for n in aae_core.list_pretrained() if n != "mnist-test"])
