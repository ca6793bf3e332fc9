"""Benchmarks (numbers, not assertions): ``python -m aae_core.bench`` or ``make bench``.

1. Server-side latency of one interpolation-slider move (interpolate the code, decode it, encode
   the PNG) and of one style-slider move (decode the style as all ten digits, tile, encode the PNG)
   — what the pages' fragments do on a move — on the shipped models.
2. Training throughput of every model family with the paper's MLP (hidden 1000-1000, batch 100) in
   samples/s: every phase of a training step, data resident on the device, no host synchronisation,
   on the CPU and, if present, a GPU.
3. Stacked training (``aae_core.stacked``, ``aae_core.stacked_categorical``): aggregate samples/s of
   N stacked models (N = 1, 4, 16) of each stackable family — the plain, semi-supervised (with its
   labelled batch) and clustering AAEs — beside the plain per-model loop of the same family's step
   (one model, its ``train_step``) measured in the same run.
4. On a GPU, the CUDA path (``StackedTrainer(cuda_graph=True)``): whole epochs of N stacked models,
   each chunk of 50 steps one CUDA-graph replay, TF32, every random number drawn ahead on the GPU —
   aggregate samples/s beside the same plain loop, and beside the stack run eagerly.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from aae_core import latent
from aae_core.models import Batch
from aae_core.recipes import get_recipe, recipe_for
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
    return _percentiles(times)


def style_slider_latency(model, moves: int = 300) -> dict[str, float]:
    """One style-slider move on the style explorer: the style z changes, the ten digits written in
    it are decoded and tiled into the PNG the page shows (the page's fragment does exactly this)."""
    z = torch.zeros(1, model.latent_dim)
    times = []
    for i in range(moves + 20):
        t0 = time.perf_counter()
        z[0, 0] = -3 + 6 * (i % 101) / 100
        sheet = latent.style_sheet(model, z)  # 10×784
        latent.png_bytes(latent.tile(sheet.numpy(), 1, model.n_classes, pad=2), size=1000)
        if i >= 20:
            times.append((time.perf_counter() - t0) * 1000)
    return _percentiles(times)


def _percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * len(times)) - 1], "max_ms": times[-1]}


def _batch(model, x: torch.Tensor, y: torch.Tensor, i: int, batch: int) -> Batch:
    """Step i's batch with the labels the model trains on (semi-supervised: a labelled batch too)."""
    sl = slice(i * batch, (i + 1) * batch)
    if model.training_labels == "none":
        return Batch(x=x[sl])
    if model.training_labels == "pool":
        return Batch(x=x[sl], x_lab=x[sl].flip(0), y_lab=y[sl] % model.n_classes)
    return Batch(x=x[sl], y=y[sl])


def matmul_gflops(device: torch.device, n: int = 100, k: int = 1000, reps: int = 200) -> float:
    """What this device sustains on the training step's own shape of work: (100×1000)·(1000×1000)
    matrix products, in GFLOP/s — the ceiling for the paper's MLP at batch 100."""
    a, b = torch.rand(n, k, device=device), torch.rand(k, k, device=device)
    for _ in range(10):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * n * k * k * reps / (time.perf_counter() - t0) / 1e9


def counted_flops(model, batch: Batch, opts) -> float:
    """FLOPs per sample of one training step as it runs — every phase, forward and backward (double
    backward too, for the contractive penalty) — as torch's profiler counts the matrix products: no
    per-family formula."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        model.train_step(batch, opts)
    return sum(e.flops for e in prof.key_averages()) / len(batch.x)


def train_throughput(name: str, device: torch.device, steps: int = 60, batch: int = 100) -> tuple[float, float]:
    """(samples/s, FLOPs per sample) of one family's full training step with its default (paper MLP)
    configuration."""
    cls = get_model_class(name)
    torch.manual_seed(0)
    model = cls(cls.config_class()).to(device).train()  # the paper MLP: hidden (1000, 1000)
    recipe = recipe_for(model, get_recipe(model.default_recipe))
    model.use_recipe(recipe)
    opts = recipe.build_optimizers(model)
    x = torch.rand(steps * batch, 784, device=device)
    y = torch.randint(10, (steps * batch,), device=device)
    flops = counted_flops(model, _batch(model, x, y, 0, batch), opts)
    for i in range(5):
        model.train_step(_batch(model, x, y, i, batch), opts)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(steps):
        model.train_step(_batch(model, x, y, i, batch), opts)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0), flops


STACKABLE = ("aae", "semi-aae", "cluster-aae", "dimred-aae", "label-aae", "supervised-aae")


def _paper_stack(n: int, device: torch.device, family: str, m: int, **fast):
    """n stacked paper-MLP models of ``family`` (its default config and recipe; the semi-supervised AAE
    with every one of the m training images in its labelled pool)."""
    from aae_core.stacked import StackedAAE
    from aae_core.stacked_categorical import StackedCategoricalAAE
    from aae_core.stacked_labelled import FAMILIES as LABEL_AWARE
    from aae_core.stacked_labelled import StackedLabelledAAE

    cls = get_model_class(family)
    recipes, seeds = [get_recipe(cls.default_recipe)] * n, list(range(n))
    if family == "aae":
        return StackedAAE(cls.config_class(), seeds, recipes, device, **fast)
    y = torch.randint(10, (m,), device=device)
    if family in LABEL_AWARE:  # every image labelled
        return StackedLabelledAAE(family, cls.config_class(), seeds, recipes, y, device, **fast)
    pools = [torch.arange(m, device=device)] * n if cls.training_labels == "pool" else None
    return StackedCategoricalAAE(family, cls.config_class(), seeds, recipes, device, pools=pools, labels=y, **fast)


def stacked_throughput(n: int, device: torch.device, steps: int, batch: int = 100, family: str = "aae") -> float:
    """Aggregate samples/s of n stacked paper-MLP models of ``family`` (its default config and recipe,
    every phase of a step, batch 100 each; the semi-supervised AAE with a labelled batch per step, the
    label-aware AAEs with every image's label)."""
    stacked = _paper_stack(n, device, family, steps * batch)
    data = torch.rand(steps * batch, 784, device=device)
    x = data[:batch].expand(n, batch, 784).contiguous()
    y = stacked._batch_labels(torch.arange(batch, device=device).expand(n, batch))  # the label-aware AAEs'
    for _ in range(3):
        stacked.train_step(x, stacked._labelled_batch(data, batch), y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        stacked.train_step(x, stacked._labelled_batch(data, batch), y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n * steps * batch / (time.perf_counter() - t0)


def stacked_epoch_throughput(n: int, device: torch.device, family: str, graph: bool, steps: int = 100,
                             batch: int = 100, epochs: int = 2) -> float:
    """Aggregate samples/s of whole epochs (``train_epoch``: shuffling, chunks, losses, the epoch's
    one synchronisation) of n stacked paper-MLP models, after one epoch of warm-up (and capture)."""
    stacked = _paper_stack(n, device, family, steps * batch, cuda_graph=graph, max_chunk=50 if graph else 1)
    data = torch.rand(steps * batch, 784, device=device)
    stacked.train_epoch(data, 0, batch)  # ends in .tolist(): synchronised
    t0 = time.perf_counter()
    for e in range(epochs):
        stacked.train_epoch(data, 1 + e, batch)  # ends in .tolist(): synchronised
    return n * epochs * steps * batch / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m aae_core.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="aae-gaussian-2d", help="shipped model for the slider benchmark")
    p.add_argument("--steps", type=int, default=60, help="training steps timed per model")
    p.add_argument("--families", nargs="*", default=None, help="model families to time (default: every one)")
    p.add_argument("--stacked", nargs="*", type=int, default=[1, 4, 16], help="stacked-model counts to time")
    p.add_argument("--graph-stacked", nargs="*", type=int, default=[1, 4, 16, 64],
                   help="on a GPU: stacked-model counts to time on the CUDA-graph path")
    p.add_argument("--devices", nargs="*", choices=("cpu", "cuda"), default=None, help="default: the CPU and any GPU")
    args = p.parse_args(argv)
    import aae_core

    cpu = f"{platform.machine()} CPU, {torch.get_num_threads()} threads"
    print(f"# aae-explorer benchmarks (torch {torch.__version__}, {cpu})\n")
    print("| benchmark | device | result |\n|---|---|---|")
    if args.devices is not None and "cpu" not in args.devices:
        slider_models = []
    else:
        slider_models = [n for n in aae_core.list_pretrained() if n.startswith(("supervised-aae", "semi-aae"))]
        lat = slider_latency(aae_core.load_pretrained(args.model))
        print(f"| slider move: interpolate + decode + PNG ({args.model}) | {cpu} | "
              f"p50 {lat['p50_ms']:.2f} ms, p95 {lat['p95_ms']:.2f} ms, max {lat['max_ms']:.2f} ms |")
    for name in slider_models:
        lat = style_slider_latency(aae_core.load_pretrained(name))
        print(f"| style-slider move: 10 digits decoded + PNG ({name}) | {cpu} | "
              f"p50 {lat['p50_ms']:.2f} ms, p95 {lat['p95_ms']:.2f} ms, max {lat['max_ms']:.2f} ms |", flush=True)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    devices = [d for d in devices if args.devices is None or d.type in args.devices]
    for device in devices:
        where = cpu if device.type == "cpu" else torch.cuda.get_device_name(device)
        peak = matmul_gflops(device)
        print(f"| 100×1000 · 1000×1000 matrix products (the step's ceiling) | {where} | {peak:,.0f} GFLOP/s |")
        for name in args.families or list_models():
            sps, flops = train_throughput(name, device, steps=args.steps)
            used = sps * flops / 1e9
            print(f"| training `{name}`, paper MLP, every phase, batch 100 | {where} | {sps:,.0f} samples/s "
                  f"({50_000 / sps:.1f} s per 50k-image epoch; {used:,.0f} GFLOP/s = {100 * used / peak:.0f} % "
                  "of the ceiling) |", flush=True)
        for family in (f for f in STACKABLE if args.families is None or f in args.families):
            plain, _ = train_throughput(family, device, steps=args.steps)
            print(f"| plain loop, one `{family}` (its train_step), paper MLP, batch 100 | {where} | "
                  f"{plain:,.0f} samples/s |")
            for n in args.stacked:
                sps = stacked_throughput(n, device, steps=max(5, args.steps // n), family=family)
                print(f"| {n} stacked `{family}`, paper MLP, batch 100 each | {where} | {sps:,.0f} samples/s "
                      f"in all ({sps / plain:.2f}× the plain loop) |", flush=True)
            if device.type != "cuda":
                continue
            torch.backends.cuda.matmul.allow_tf32 = True  # the CUDA path's default
            for n in args.graph_stacked:
                eager = stacked_epoch_throughput(n, device, family, graph=False, epochs=1)
                sps = stacked_epoch_throughput(n, device, family, graph=True)
                print(f"| {n} stacked `{family}`, CUDA graph (50 steps a replay), TF32, whole epochs | {where} | "
                      f"{sps:,.0f} samples/s in all ({sps / plain:.1f}× the plain loop, {sps / eager:.1f}× the "
                      f"same stack eagerly; {50_000 * n / sps:.2f} s per 50k-image epoch of all {n}) |", flush=True)
            torch.backends.cuda.matmul.allow_tf32 = False


if __name__ == "__main__":
    main()
