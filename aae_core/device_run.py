"""One command for a borrowed GPU machine, one to bring its results home.

On the GPU machine (its python3 already holds torch, numpy, safetensors, scikit-learn, tqdm; the
app's packages are not needed), from the repository root, with the MNIST files carried along:

    python3 -m aae_core.device_run train --rows semi-aae-100,cluster-aae-16 --data .data/mnist \\
        --budget 480 --out "$OUT"

trains every recipe of each named row of ``aae_core/shipped.py`` (``--recipes shipped``: only the
row's own), one after another, each within its share of ``--budget`` seconds of training (a run
stops after the epoch that uses its share up, and is still evaluated and saved; its card says how
many epochs it did), then packs the finished run folders into at most 7 ``bundle-K.tar.xz`` files
of at most 15 MiB each plus ``device-log.json`` (device, timings, each run's outcome) — within what
comes back from such a machine (8 files of 16 MiB). Back on the CPU:

    python -m aae_core.device_run unpack OUT_FOLDER/bundle-*.tar.xz --runs runs
    python -m aae_core.shipped pick NAME... --data ../shared/data/mnist

Bundles hold plain weights folders only: nothing is pickled and nothing outside ``runs/`` is ever
written (links, absolute paths and ``..`` are refused).
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tarfile
import time
from pathlib import Path

from aae_core import train
from aae_core.shipped import ROOT, get_row, run_folder
from aae_core.train import DIVERGED

BUNDLE_BYTES = 15 << 20  # each bundle stays under this (the machine returns files of up to 16 MiB)
MAX_BUNDLES = 7  # plus the log: 8 files come back at most
RUN_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*--[a-z0-9][a-z0-9.-]*$")
RUN_FILES = re.compile(r"^(model|codes)\.safetensors(\.xz)?$|^(config|card|manifest|stopped)\.json$|^README\.md$")


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.machine()})"


def train_runs(names: list[str], data: str, work: Path, budget_s: float, device: str, only_shipped: bool,
               dataset: str = "mnist") -> list[dict]:
    """Every recipe of each row (or the row's own), each with an equal share of the budget."""
    todo = [(n, r) for n in names for r in ((get_row(n).recipe,) if only_shipped else get_row(n).recipes)]
    share = budget_s / max(1, len(todo))
    log = []
    for name, recipe in todo:
        folder = run_folder(name, recipe, work)
        args = get_row(name).train_args(data, str(folder), recipe)
        args += ["--device", device, "--time-budget", f"{share:.1f}", "--dataset", dataset]
        t0 = time.perf_counter()
        rc = train.main(args)  # in this process, one after another: the GPU is the runs' alone
        outcome = "finished" if rc == 0 else ("diverged" if rc == DIVERGED else f"failed (exit {rc})")
        log.append({"run": folder.name, "recipe": recipe, "outcome": outcome,
                    "wall_s": round(time.perf_counter() - t0, 1), "budget_s": round(share, 1)})
        print(json.dumps(log[-1]), flush=True)
    return log


def pack(work: Path, out: Path) -> list[Path]:
    """The run folders under ``work`` (weights, cards, stop notes; no checkpoints) as bundles."""
    folders = sorted(p for p in work.iterdir() if p.is_dir() and RUN_NAME.match(p.name))
    entries = []  # (run folder, files, bytes)
    for folder in folders:
        files = sorted(f for f in folder.iterdir() if f.is_file() and RUN_FILES.match(f.name))
        entries.append((folder, files, sum(f.stat().st_size for f in files)))
    groups: list[list] = []
    for entry in entries:  # greedy: a new bundle when the next folder would not fit
        if entry[2] > BUNDLE_BYTES:
            raise ValueError(f"{entry[0].name} alone is {entry[2] >> 20} MiB, over a bundle's {BUNDLE_BYTES >> 20} MiB")
        if not groups or sum(e[2] for e in groups[-1]) + entry[2] > BUNDLE_BYTES:
            groups.append([])
        groups[-1].append(entry)
    if len(groups) > MAX_BUNDLES:
        raise ValueError(f"{len(groups)} bundles needed, at most {MAX_BUNDLES} come back: train fewer rows")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, group in enumerate(groups, 1):
        path = out / f"bundle-{k}.tar.xz"
        with tarfile.open(path, "w:xz") as tar:
            for folder, files, _ in group:
                for f in files:
                    tar.add(f, arcname=f"{folder.name}/{f.name}", recursive=False)
        paths.append(path)
    return paths


def unpack(bundle: Path, runs: Path) -> list[str]:
    """Extract a bundle's run folders into ``runs``; refuses anything but plain files of run folders."""
    placed = []
    with tarfile.open(bundle, "r:xz") as tar:
        members = tar.getmembers()
        for m in members:
            parts = m.name.split("/")
            if (not m.isfile() or len(parts) != 2 or not RUN_NAME.match(parts[0]) or not RUN_FILES.match(parts[1])):
                raise ValueError(f"{bundle.name}: refused member {m.name!r} (only plain files of run folders)")
        for m in members:
            target = runs / m.name
            target.parent.mkdir(parents=True, exist_ok=True)
            data = tar.extractfile(m)
            target.write_bytes(data.read() if data is not None else b"")
            placed.append(m.name.split("/")[0])
    return sorted(set(placed))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aae_core.device_run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--rows", required=True, help="comma-separated rows of aae_core/shipped.py")
    t.add_argument("--data", required=True, help="the four MNIST IDX files (carried to the machine)")
    t.add_argument("--dataset", default="mnist")
    t.add_argument("--budget", type=float, default=480.0, help="seconds of training in all (default 8 minutes)")
    t.add_argument("--device", default="cuda")
    t.add_argument("--recipes", choices=("all", "shipped"), default="all",
                   help="every recipe a row compares, or only the one it ships")
    t.add_argument("--work", default="/tmp/aae-device-runs", help="where the runs are trained")
    t.add_argument("--out", required=True, help="where the bundles and the log go ($OUT)")
    u = sub.add_parser("unpack")
    u.add_argument("bundles", nargs="+")
    u.add_argument("--runs", default=str(ROOT / "runs"))
    args = p.parse_args(argv)
    try:
        if args.cmd == "unpack":
            for b in args.bundles:
                print(f"{b}: {', '.join(unpack(Path(b), Path(args.runs)))}")
            return 0
        names = [n.strip() for n in args.rows.split(",") if n.strip()]
        for n in names:
            get_row(n)
        work, out = Path(args.work), Path(args.out)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        runs = train_runs(names, args.data, work, args.budget, args.device, args.recipes == "shipped", args.dataset)
        bundles = pack(work, out)
        log = {"device": device_name(args.device), "rows": names, "budget_s": args.budget,
               "wall_s": round(time.perf_counter() - t0, 1), "runs": runs,
               "bundles": {b.name: b.stat().st_size for b in bundles},
               "command": "python -m aae_core.device_run " + " ".join(argv if argv is not None else sys.argv[1:])}
        (out / "device-log.json").write_text(json.dumps(log, indent=2) + "\n")
        print(json.dumps(log["bundles"]))
        return 0 if all(r["outcome"] in ("finished", "diverged") for r in runs) else 3
    except (ValueError, tarfile.TarError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
