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

Or, with stacked models and several seeds per result (``aae_core.sweep``; each ``--sweep`` is one
sweep's arguments, the budget shared between them like the rows'):

    python3 -m aae_core.device_run sweep --data .data/mnist --budget 480 --out "$OUT" \\
        --sweep "--family semi-aae --labels 100,1000,all --recipes paper-sgd-semi --seeds 0,1,2,3,4 --epochs 500" \\
        --sweep "--family cluster-aae --n-classes 16 --recipes paper-sgd-cluster --seeds 0,1,2 --epochs 500"

Every seed's card (test numbers, curves) comes back in ``device-log.json`` with each sweep's tables;
the weights folders that come back are, per label count, the chosen setting's median-validation
seed (all of them would not fit in what comes back).

A later run continues models still improving from what is already in the repository (``pretrained/``
travels with the working tree): a sweep with ``--init-from pretrained/semi-aae-100 --start-epoch 120
--seeds 1`` starts that seed from the shipped encoder and decoder (the discriminators and momenta, which
no weights folder holds, start afresh) and counts its epochs on from 120.

Bundles hold plain weights folders only: nothing is pickled and nothing outside ``runs/`` is ever
written (links, absolute paths and ``..`` are refused).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import sys
import tarfile
import time
from pathlib import Path

from aae_core import train
from aae_core.shipped import ROOT, get_row, run_folder
from aae_core.train import DIVERGED

BUNDLE_BYTES = 15 << 20  # each bundle stays under this (the machine returns files of up to 16 MiB)
MAX_BUNDLES = 7  # plus the log: 8 files come back at most
RUN_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*--[a-z0-9][a-z0-9.-]*")  # used with fullmatch
RUN_FILES = re.compile(r"(model|codes)\.safetensors(\.xz)?|(config|card|manifest|stopped)\.json|README\.md")
MEMBER_BYTES = 64 << 20  # a bundle member larger than this is refused (an xz bomb)


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.machine()})"


def train_runs(names: list[str], data: str, work: Path, budget_s: float, device: str, only_shipped: bool,
               dataset: str = "mnist", after_each=None) -> list[dict]:
    """Every recipe of each row (or the row's own), one after another, each with an equal share of
    what is left of the budget (a run that stops early leaves more to the next). A run that fails
    in any way is recorded and the next one goes on; ``after_each(log)`` runs after every run (the
    caller packs what is done so far, so that a later crash loses nothing already trained)."""
    if budget_s <= 0:
        raise ValueError(f"--budget must be > 0 seconds, got {budget_s}")
    todo = [(n, r) for n in names for r in ((get_row(n).recipe,) if only_shipped else get_row(n).recipes)]
    deadline, log = time.perf_counter() + budget_s, []
    threads = str(os.cpu_count() or 1)
    for k, (name, recipe) in enumerate(todo):
        share = max(1.0, (deadline - time.perf_counter()) / (len(todo) - k))
        folder = run_folder(name, recipe, work)
        args = get_row(name).train_args(data, str(folder), recipe)
        args += ["--device", device, "--time-budget", f"{share:.1f}", "--dataset", dataset, "--threads", threads]
        t0 = time.perf_counter()
        try:
            rc = train.main(args)  # in this process, one after another: the GPU is the runs' alone
            outcome = "finished" if rc == 0 else ("diverged" if rc == DIVERGED else f"failed (exit {rc})")
        except Exception as exc:  # noqa: BLE001  (an out-of-memory error, say: record it, go on)
            outcome = f"failed ({type(exc).__name__}: {str(exc)[:200]})"
        log.append({"run": folder.name, "recipe": recipe, "outcome": outcome,
                    "wall_s": round(time.perf_counter() - t0, 1), "budget_s": round(share, 1)})
        print(json.dumps(log[-1]), flush=True)
        if after_each is not None:
            after_each(log)
    return log


def sweep_runs(specs: list[str], data: str, work: Path, budget_s: float, device: str, dataset: str = "mnist",
               after_each=None) -> list[dict]:
    """Each sweep (a string of ``aae_core.sweep`` arguments) in turn, with an equal share of what is
    left of the budget, its models saved under ``work``; then only the folders worth bringing home
    stay (``sweep.shipped_runs``), every other seed's card goes into the log entry."""
    from aae_core import sweep

    if budget_s <= 0:
        raise ValueError(f"--budget must be > 0 seconds, got {budget_s}")
    deadline, log = time.perf_counter() + budget_s, []
    for k, spec in enumerate(specs):
        share = max(1.0, (deadline - time.perf_counter()) / (len(specs) - k))
        out = work / "sweeps" / f"sweep-{k + 1}"
        args = shlex.split(spec) + ["--data", data, "--dataset", dataset, "--device", device, "--time-budget",
                                    f"{share:.1f}", "--runs", str(work), "--out", str(out), "--runs-weights", "shipped"]
        t0 = time.perf_counter()
        try:
            rc = sweep.main(args)
            outcome = "finished" if rc == 0 else f"failed (exit {rc})"
        except Exception as exc:  # noqa: BLE001  (record it, go on with the next sweep)
            outcome = f"failed ({type(exc).__name__}: {str(exc)[:200]})"
        entry = {"sweep": spec, "outcome": outcome, "wall_s": round(time.perf_counter() - t0, 1), "budget_s": round(share, 1)}
        if (out / "sweep.json").exists():
            result = json.loads((out / "sweep.json").read_text())
            keep = set(sweep.shipped_runs(result))
            entry.update(result=result, shipped=sorted(keep), cards={}, tables={
                f.name: f.read_text() for f in (out / "table.md", out / "test.md") if f.exists()})
            for m in result["models"]:
                folder = work / sweep.run_name(sweep.result_prefix(result), m["recipe"], m.get("labels"), m["seed"])
                if (folder / "card.json").exists():
                    card = json.loads((folder / "card.json").read_text())
                    entry["cards"][folder.name] = {k: v for k, v in card.items() if k != "history"}
                if folder.name not in keep:
                    shutil.rmtree(folder, ignore_errors=True)
        log.append(entry)
        print(json.dumps({k: v for k, v in entry.items() if k in ("sweep", "outcome", "wall_s", "shipped")}), flush=True)
        if after_each is not None:
            after_each(log)
    return log


def pack(work: Path, out: Path, since: float | None = None) -> list[Path]:
    """The run folders under ``work`` (weights, cards, stop notes; no checkpoints) as bundles; with
    ``since`` (a ``time.time()``), only those with a file written from then on: a second command on a
    warm machine, whose work folder still holds the first one's runs, brings home its own runs only."""
    folders = sorted(p for p in work.iterdir() if p.is_dir() and RUN_NAME.fullmatch(p.name))
    entries = []  # (run folder, files, bytes)
    for folder in folders:
        files = sorted(f for f in folder.iterdir() if f.is_file() and RUN_FILES.fullmatch(f.name))
        if since is not None and not any(f.stat().st_mtime >= since for f in files):
            continue
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
    for old in out.glob("bundle-*.tar.xz"):  # packed again after every run: the latest set only
        old.unlink()
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
    """Extract a bundle's run folders into ``runs``, each replacing any folder of that name whole
    (no stale checkpoint survives to be resumed over the GPU's result). Refuses anything but plain
    files of run folders, duplicates, members over MEMBER_BYTES and targets that are links."""
    runs.mkdir(parents=True, exist_ok=True)
    with tarfile.open(bundle, "r:xz") as tar:
        members = tar.getmembers()
        seen = set()
        for m in members:
            parts = m.name.split("/")
            if (not m.isfile() or len(parts) != 2 or not RUN_NAME.fullmatch(parts[0])
                    or not RUN_FILES.fullmatch(parts[1])):
                raise ValueError(f"{bundle.name}: refused member {m.name!r} (only plain files of run folders)")
            if m.name in seen or m.size > MEMBER_BYTES:
                raise ValueError(f"{bundle.name}: refused member {m.name!r} (a duplicate, or over {MEMBER_BYTES >> 20} MiB)")
            seen.add(m.name)
        names = sorted({m.name.split("/")[0] for m in members})
        for name in names:
            target = runs / name
            if target.is_symlink() or (target.exists() and not target.resolve().is_relative_to(runs.resolve())):
                raise ValueError(f"{target}: a link, refused")
            build = runs / f".{name}.unpacking"
            shutil.rmtree(build, ignore_errors=True)
            build.mkdir()
            for m in members:
                if m.name.split("/")[0] == name:
                    with tar.extractfile(m) as src, open(build / m.name.split("/")[1], "wb") as dst:
                        shutil.copyfileobj(src, dst)
            shutil.rmtree(target, ignore_errors=True)
            build.rename(target)
    return names


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
    w = sub.add_parser("sweep")
    w.add_argument("--sweep", action="append", required=True, metavar="ARGS",
                   help="one sweep's arguments (python -m aae_core.sweep --help), quoted; repeatable")
    for a in t._actions:  # the same --data, --dataset, --budget, --device, --work, --out
        if a.dest in ("data", "dataset", "budget", "device", "work", "out"):
            w._add_action(a)
    u = sub.add_parser("unpack")
    u.add_argument("bundles", nargs="+")
    u.add_argument("--runs", default=str(ROOT / "runs"))
    args = p.parse_args(argv)
    try:
        if args.cmd == "unpack":
            for b in args.bundles:
                print(f"{b}: {', '.join(unpack(Path(b), Path(args.runs)))}")
            return 0
        if args.cmd == "train":
            names = [n.strip() for n in args.rows.split(",") if n.strip()]
            for n in names:
                get_row(n)
        else:
            names = args.sweep
        work, out = Path(args.work), Path(args.out)
        work.mkdir(parents=True, exist_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        t0, started = time.perf_counter(), time.time()
        command = "python -m aae_core.device_run " + " ".join(argv if argv is not None else sys.argv[1:])

        def save(runs: list[dict]) -> None:  # after every run: what is done is never lost
            log = {"device": device_name(args.device), "rows" if args.cmd == "train" else "sweeps": names,
                   "budget_s": args.budget,
                   "wall_s": round(time.perf_counter() - t0, 1), "runs": runs, "command": command}
            try:
                log["bundles"] = {b.name: b.stat().st_size for b in pack(work, out, since=started)}
            except ValueError as exc:
                log["pack_error"] = str(exc)
            (out / "device-log.json").write_text(json.dumps(log, indent=2) + "\n")

        if args.cmd == "sweep":
            runs = sweep_runs(names, args.data, work, args.budget, args.device, args.dataset, after_each=save)
        else:
            runs = train_runs(names, args.data, work, args.budget, args.device, args.recipes == "shipped",
                              args.dataset, after_each=save)
        return 0 if all(r["outcome"] in ("finished", "diverged") for r in runs) else 3
    except (ValueError, tarfile.TarError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
