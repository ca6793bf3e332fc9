"""Benchmarks (numbers, not assertions): ``python -m aae_core.bench`` or ``make bench``.

1. Server-side latency of one interpolation-slider move: interpolate the code, decode it, encode
   the PNG the page shows (what the page's fragment does on a move), on a shipped model.
2. Training throughput of every model family with the paper's MLP (hidden 1000-1000, batch 100) in
   samples/s: every phase of a training step, data resident on the device, no host synchronisation,
   on the CPU and, if present, a GPU.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from aae_core import latent
from aae_core.models import Batch
from aae_core.registry import get_model_class, list_models


def slider_latency(model, moves: int = 300) -> dict[str, float]:
    za, zb = torch.zeros(model.latent_dim), torch.ones(model.latent_dim) * 2
    times = []
    for i in range(moves + 20):
        t0 = time.perf_counter()
        z = latent.interpolate(za, zb, (i % 101) / 100, "linear")
        with torch.no_grad():
            img = model.decode(z)[0]
        latent.png_bytes(latent.to_uint8(img).reshape(28, 28), 224)
        if i >= 20:  # warm-up excluded
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * len(times)) - 1], "max_ms": times[-1]}


def _batch(model, x: torch.Tensor, y: torch.Tensor, i: int, batch: int) -> Batch:
    """Step i's batch with the labels the model trains on (semi-supervised: a labelled batch too)."""
    sl = slice(i * batch, (i + 1) * batch)
    if model.training_labels == "none":
        return Batch(x=x[sl])
    if model.training_labels == "pool":
        return Batch(x=x[sl], x_lab=x[sl].flip(0), y_lab=y[sl] % model.n_classes)
    return Batch(x=x[sl], y=y[sl])


def train_throughput(name: str, device: torch.device, steps: int = 60, batch: int = 100) -> float:
    """Samples/s of one family's full training step with its default (paper MLP) configuration."""
    cls = get_model_class(name)
    torch.manual_seed(0)
    model = cls(cls.config_class()).to(device).train()  # the paper MLP: hidden (1000, 1000)
    opts = model.configure_optimizers()
    x = torch.rand(steps * batch, 784, device=device)
    y = torch.randint(10, (steps * batch,), device=device)
    for i in range(5):
        model.train_step(_batch(model, x, y, i, batch), opts)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(steps):
        model.train_step(_batch(model, x, y, i, batch), opts)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m aae_core.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="aae-gaussian-2d", help="shipped model for the slider benchmark")
    p.add_argument("--steps", type=int, default=60, help="training steps timed per model")
    p.add_argument("--families", nargs="*", default=None, help="model families to time (default: every one)")
    args = p.parse_args(argv)
    import aae_core

    cpu = f"{platform.machine()} CPU, {torch.get_num_threads()} threads"
    print(f"# aae-explorer benchmarks (torch {torch.__version__}, {cpu})\n")
    lat = slider_latency(aae_core.load_pretrained(args.model))
    print("| benchmark | device | result |\n|---|---|---|")
    print(f"| slider move: interpolate + decode + PNG ({args.model}) | {cpu} | "
          f"p50 {lat['p50_ms']:.2f} ms, p95 {lat['p95_ms']:.2f} ms, max {lat['max_ms']:.2f} ms |")
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        where = cpu if device.type == "cpu" else torch.cuda.get_device_name(device)
        for name in args.families or list_models():
            sps = train_throughput(name, device, steps=args.steps)
            print(f"| training `{name}`, paper MLP, every phase, batch 100 | {where} | {sps:,.0f} samples/s "
                  f"({50_000 / sps:.1f} s per 50k-image epoch) |", flush=True)


if __name__ == "__main__":
    main()
