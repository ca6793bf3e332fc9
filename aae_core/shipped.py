"""The shipped models as data: one row per folder of ``pretrained/`` — family, prior, code size,
widths, recipe (and the recipes compared on validation), epochs, selection metric — feeding
``make pretrained``, a GPU run and the cards.

    python -m aae_core.shipped list                      # the table
    python -m aae_core.shipped command NAME [--recipe R]  # the training command of one row
    python -m aae_core.shipped train NAME... --data MNIST [--jobs 2]   # train every recipe of each row
    python -m aae_core.shipped pick NAME... --data MNIST  # ship the run with the best validation score
    python -m aae_core.shipped adopt NAME RUN [--log device-log.json]  # ship a sweep's median seed, ± over seeds
    python -m aae_core.shipped fewer-bits NAME... --data MNIST  # 6 or 7 bits where they move no metric by 1 %

``train`` writes each recipe's run to ``runs/NAME--RECIPE`` (resumable); ``pick`` copies the run with
the lowest validation score into ``pretrained/NAME`` in 8 bits (``aae_core.quantize``) and records
every compared recipe's score on the card. The test set plays no part in the choice.
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from aae_core.recipes import RECIPES
from aae_core.card import Card, compact
from aae_core.train import DIVERGED

ROOT = Path(__file__).resolve().parent.parent
PAPER_MLP, SMALL = (1000, 1000), (500, 500)
RELATIVE = (256, 256)  # the relatives' networks: six more models within pretrained/'s 40 MB


@dataclass(frozen=True)
class ShippedModel:
    name: str
    family: str
    description: str
    recipe: str  # the recipe of the shipped weights (``pick`` chose it on validation where several compete)
    epochs: int
    prior: str | None = None  # None: the family's default prior
    latent_dim: int | None = None
    hidden: tuple[int, ...] = PAPER_MLP
    labels: str | int | None = None
    select_by: str | None = None  # validation metric that picks the epoch (None: the family's own)
    settings: dict = field(default_factory=dict)  # further --set KEY=VALUE (config fields or recipe overrides)
    compare: tuple[str, ...] = ()  # recipes trained side by side; ``pick`` ships the best on validation
    val_size: int = 10_000
    fewest_bits: bool = False  # trained in float32, shipped in the fewest of 6, 7, 8 bits that keep the metrics within 1 %
    dataset: str = "mnist"  # "fashion-mnist": trained with --data pointing at Fashion-MNIST's four IDX files

    def __post_init__(self) -> None:
        for r in (self.recipe, *self.compare):
            if r not in RECIPES:
                raise ValueError(f"{self.name}: unknown recipe {r!r}")

    @property
    def recipes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.compare, self.recipe)))

    def train_args(self, data: str, out: str, recipe: str | None = None, threads: int = 1,
                   epochs: int | None = None) -> list[str]:
        args = ["--model", self.family, "--data", data, "--dataset", self.dataset, "--val-size", str(self.val_size), "--seed", "0",
                "--threads", str(threads), "--no-progress", "--hidden", ",".join(map(str, self.hidden)),
                "--epochs", str(epochs or self.epochs), "--recipe", recipe or self.recipe]
        if self.prior:
            args += ["--prior", self.prior]
        if self.latent_dim is not None:
            args += ["--latent-dim", str(self.latent_dim)]
        if self.labels is not None:
            args += ["--labels", str(self.labels)]
        if self.select_by:
            args += ["--select-by", self.select_by]
        for k, v in self.settings.items():
            args += ["--set", f"{k}={json.dumps(v)}"]
        if self.fewest_bits:  # the float weights, for ``ship`` to round once
            args += ["--weights", "float32"]
        return args + ["--out", out, "--description", self.description]


R2 = ("adam-balanced", "paper-sgd")  # the two recipes compared for the CPU-retrained 2-D models
LEGACY = "adam-legacy-g3"  # the label-aware family's first runs (20 epochs; their folders are runs too)

SHIPPED: dict[str, ShippedModel] = {m.name: m for m in [
    # -- the paper's Figure 2: the recipes compared on the CPU (issue 8, 80 epochs); the two AAEs shipped
    # since from the third GPU run (3 seeds stacked with the recipe chosen on the CPU, 222 and 158 epochs on
    # an H100, the median-validation seed; `shipped adopt`, docs/training-notes.md). These rows retrain one
    # seed on the CPU with each compared recipe for as many epochs.
    ShippedModel("aae-gaussian-2d", "aae", "2-D AAE on N(0, 5²I) (the paper's Figure 2, top left)",
                 "adam-musyoku", 222, prior="gaussian", hidden=SMALL, select_by="prior_swd",
                 compare=(*R2, "adam-musyoku")),
    ShippedModel("aae-mixture10-2d", "aae", "2-D AAE on a mixture of 10 Gaussians (the paper's Figure 2, bottom)",
                 "adam-balanced", 158, prior="mixture10", hidden=SMALL, select_by="prior_swd",
                 compare=(*R2, "adam-musyoku")),
    # the VAEs trained as long as the AAEs beside them (one CPU thread each, seed 0)
    ShippedModel("vae-gaussian-2d", "vae", "2-D VAE on N(0, 5²I), closed-form KL (the paper's Figure 2, top right)",
                 "adam", 222, prior="gaussian", hidden=SMALL, select_by="prior_swd"),
    ShippedModel("vae-mixture10-2d", "vae",
                 "2-D VAE on a mixture of 10 Gaussians, Monte-Carlo KL (the paper's Figure 2, bottom right)",
                 "adam", 158, prior="mixture10", hidden=SMALL, select_by="prior_swd"),
    ShippedModel("label-aae-mixture10", "label-aae", "2-D AAE with label-conditioned regularization on the "
                 "10-Gaussian mixture, 10k labelled + 40k unlabelled (Figure 4)", "adam-balanced", 60,
                 prior="mixture10", hidden=SMALL, labels=10000, compare=(*R2, LEGACY)),
    ShippedModel("label-aae-swissroll", "label-aae", "2-D AAE with label-conditioned regularization on the "
                 "swiss roll, 10k labelled + 40k unlabelled (Figure 4)", LEGACY, 60,
                 prior="swissroll", hidden=SMALL, labels=10000, compare=(*R2, LEGACY)),
    # -- the semi-supervised AAEs: from the fourth GPU run (3 label counts × 3 seeds stacked, 260 epochs
    # on an H100; shipped with `shipped adopt`, see docs/training-notes.md). These rows retrain one seed on
    # the CPU with the same recipe (the paper's MLP and prior N(0, 5²I)) for as many epochs.
    ShippedModel("semi-aae-100", "semi-aae", "Semi-supervised AAE, 100 labels (the paper's Table 2)",
                 "paper-sgd-semi", 260, labels=100, settings={"prior": {"name": "gaussian", "std": 5.0}}),
    ShippedModel("semi-aae-1000", "semi-aae", "Semi-supervised AAE, 1000 labels (the paper's Table 2)",
                 "paper-sgd-semi", 260, labels=1000, settings={"prior": {"name": "gaussian", "std": 5.0}}),
    ShippedModel("semi-aae-all", "semi-aae", "Semi-supervised AAE, all 50,000 training labels (the paper's Table 2)",
                 "paper-sgd-semi", 260, labels="all", settings={"prior": {"name": "gaussian", "std": 5.0}}),
    # -- the rest of the label-aware family's first CPU runs (issue 3), weights stored in 8 bits since ---
    ShippedModel("supervised-aae-2d", "supervised-aae",
                 "Supervised AAE: the decoder reads the digit, the 2-D code holds the style (Figure 7)",
                 LEGACY, 20, hidden=SMALL, labels="all", latent_dim=2),
    ShippedModel("supervised-aae-15d", "supervised-aae",
                 "Supervised AAE: the decoder reads the digit, the 15-D code holds the style (Figure 7)",
                 LEGACY, 20, hidden=SMALL, labels="all", latent_dim=15),
    ShippedModel("dimred-aae-1000", "dimred-aae", "Dimensionality-reduction AAE, 1000 labels, 2-D map W·y + z (Figure 11)",
                 LEGACY, 20, hidden=SMALL, labels=1000),
    ShippedModel("dimred-aae-100", "dimred-aae", "Dimensionality-reduction AAE, 100 labels, 2-D map W·y + z (Figure 11)",
                 LEGACY, 20, hidden=SMALL, labels=100),
    ShippedModel("dimred-aae-20clusters", "dimred-aae",
                 "Dimensionality-reduction AAE, unsupervised, 20 clusters, 2-D map W·y + z (Figure 11)",
                 LEGACY, 20, hidden=SMALL, settings={"n_classes": 20}),
    # -- from the second GPU run (one H100; shipped with `shipped adopt`, docs/training-notes.md): the 8-D
    # model chosen by validation Parzen NLL among 2 recipes × 3 seeds (75 epochs; the third run continued
    # its shipped seed to 269 epochs beside two fresh seeds); the clustering models from the fourth (2 recipes
    # × 3 seeds each, 10-D style code, as many epochs as the time budget allowed: 54 and 37). These rows
    # retrain one seed on the CPU.
    ShippedModel("aae-gaussian-8d", "aae", "8-D AAE on N(0, 5²I) for the Parzen-window log-likelihood (the paper's Table 1)",
                 "adam-musyoku-dropout", 269, latent_dim=8, select_by="parzen_nll"),
    ShippedModel("cluster-aae-16", "cluster-aae", "Unsupervised clustering AAE, 16 clusters (the paper's Table 3)",
                 LEGACY, 54, settings={"n_classes": 16}),
    ShippedModel("cluster-aae-30", "cluster-aae", "Unsupervised clustering AAE, 30 clusters (the paper's Table 3)",
                 LEGACY, 37, settings={"n_classes": 30}),
    # -- the relatives (issue 12), 2-D for the maps, trained on the CPU ---------------------------------
    ShippedModel("ae-2d", "ae", "Plain autoencoder, 2-D code: reconstruction only (the AE-vs-VAE figure)",
                 "adam", 200, hidden=RELATIVE),
    ShippedModel("vae-2d", "vae", "VAE on N(0, I), 2-D code: the plain AE's network with the KL term (the AE-vs-VAE figure)",
                 "adam", 200, hidden=RELATIVE, settings={"prior": {"name": "gaussian", "std": 1.0}}),
    ShippedModel("dae-2d", "dae", "Denoising autoencoder, 2-D code, trained on 50 % zero-masked inputs",
                 "adam", 200, hidden=RELATIVE, settings={"corruption": "mask", "corruption_level": 0.5}),
    ShippedModel("cae-2d", "cae", "Contractive autoencoder, 2-D code, λ = 0.1 on the encoder Jacobian's squared norm",
                 "adam", 200, hidden=RELATIVE, settings={"contractive_weight": 0.1}),
    # chosen by reconstruction: by the prior distance, the first epoch wins (the MMD matches the prior before
    # the codes carry anything; measured: epoch 1 of 200, recon NLL 160.9)
    ShippedModel("wae-mmd-2d", "wae-mmd", "WAE-MMD on N(0, I), 2-D code: the AAE's aim with a kernel in place of the adversary",
                 "wae", 60, hidden=RELATIVE, select_by="recon_bce", settings={"prior": {"name": "gaussian", "std": 1.0}}),
    # the WAE paper's WAE-GAN (λ = 1 on the adversary, its MNIST setting), chosen like the WAE-MMD
    ShippedModel("wae-gan-2d", "wae-gan", "WAE-GAN on N(0, I), 2-D code: the AAE as one λ-weighted objective",
                 "wae", 60, hidden=RELATIVE, select_by="recon_bce", settings={"prior": {"name": "gaussian", "std": 1.0}}),
    # the WAE paper's MNIST setting: an 8-D code (its maps are PCA / UMAP projections)
    ShippedModel("wae-mmd-8d", "wae-mmd", "WAE-MMD on N(0, I), 8-D code (the WAE paper's MNIST setting)",
                 "wae", 60, latent_dim=8, hidden=RELATIVE, select_by="recon_bce",
                 settings={"prior": {"name": "gaussian", "std": 1.0}}),
    ShippedModel("wae-gan-8d", "wae-gan", "WAE-GAN on N(0, I), 8-D code (the WAE paper's MNIST setting)",
                 "wae", 60, latent_dim=8, hidden=RELATIVE, select_by="recon_bce",
                 settings={"prior": {"name": "gaussian", "std": 1.0}}),
    # the ALAE (issue 12): the public MLP ports' widths with the code's scale anchored (code_norm; without it
    # the game drifts, docs/training-notes.md), 50-D as in the ports; chosen by validation reconstruction
    ShippedModel("alae-50d", "alae", "ALAE, 50-D code: E, G, a mapping F and a discriminator on the code; "
                 "reconstruction never trained in pixels", "alae", 200, latent_dim=50, hidden=(1024,),
                 select_by="recon_bce", settings={"disc_hidden": [1024], "mapping_layers": 2,
                                                  "mapping_width": 1024, "code_norm": True}, fewest_bits=True),
    ShippedModel("cvae-2d", "cvae", "Conditional VAE: the decoder reads the digit, the 2-D code holds the style "
                 "(beside the supervised AAE)", "adam", 200, hidden=RELATIVE, labels="all"),
]}
# -- Fashion-MNIST (issue 12): the 2-D AAE and VAE of the comparison, on clothes (data: Debian's dataset-fashion-mnist)
FASHION = ("fashion-aae-2d", "fashion-vae-2d")
FASHION_MLP = (128, 128)  # a quarter of the relatives' weights: the last room under 40 MB (the live trainer's size)
SHIPPED.update({m.name: m for m in [
    ShippedModel("fashion-aae-2d", "aae", "2-D AAE on N(0, 5²I), trained on Fashion-MNIST (clothes, not digits)",
                 "adam-musyoku", 100, prior="gaussian", hidden=FASHION_MLP, select_by="prior_swd", fewest_bits=True,
                 dataset="fashion-mnist"),
    ShippedModel("fashion-vae-2d", "vae", "2-D VAE on N(0, 5²I), trained on Fashion-MNIST (beside the AAE)",
                 "adam", 100, prior="gaussian", hidden=FASHION_MLP, select_by="prior_swd", fewest_bits=True,
                 dataset="fashion-mnist"),
]})
# -- convolutional AAEs (the reproduction report's): all-convolutional, with and without batch norm --------
CONV = {"arch": "conv", "channels": [16, 32]}
SHIPPED.update({m.name: m for m in [
    ShippedModel("aae-conv-2d", "aae", "All-convolutional AAE on N(0, 5²I), 2-D code (no fully connected layer)",
                 "adam-balanced", 50, prior="gaussian", select_by="prior_swd", settings=CONV),
    ShippedModel("aae-conv-bn-2d", "aae", "All-convolutional AAE with batch normalisation on N(0, 5²I), 2-D code",
                 "adam-balanced", 50, prior="gaussian", select_by="prior_swd", settings={**CONV, "batch_norm": True}),
]})
RELATIVES = ("ae-2d", "vae-2d", "dae-2d", "cae-2d", "wae-mmd-2d", "wae-gan-2d", "wae-mmd-8d", "wae-gan-8d", "alae-50d", "cvae-2d", "aae-conv-2d", "aae-conv-bn-2d")


def get_row(name: str) -> ShippedModel:
    try:
        return SHIPPED[name]
    except KeyError:
        raise ValueError(f"no shipped model {name!r} in the table; rows: {', '.join(SHIPPED)}") from None


def run_folder(name: str, recipe: str, runs: Path) -> Path:
    return runs / f"{name}--{recipe}"


def command(row: ShippedModel, data: str, out: str, recipe: str | None = None) -> list[str]:
    return [sys.executable, "-m", "aae_core.train", *row.train_args(data, out, recipe)]


def train_rows(names: list[str], data: str, runs: Path, jobs: int) -> int:
    """Train every recipe of each named row into ``runs/NAME--RECIPE``, ``jobs`` runs at a time."""
    todo = [command(get_row(n), data, str(run_folder(n, r, runs)), r) for n in names for r in get_row(n).recipes
            if not finished(run_folder(n, r, runs))]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        codes = list(pool.map(lambda cmd: subprocess.call(cmd, cwd=ROOT), todo))
    # a diverged run is an outcome (pick records it); any other failure, or a signal, is not
    return next((c for c in codes if c not in (0, DIVERGED)), 0)


def finished(folder: Path) -> bool:
    """Nothing more to train: the run wrote its weights folder and left no checkpoint, or it diverged
    (a result, recorded on the card by ``pick``; rerunning would diverge again)."""
    done = (folder / "card.json").exists() and not (folder / "checkpoint.pt").exists()
    return done or stop_reason(folder).get("reason") == "diverged"


def run_history(folder: Path) -> list[dict]:
    """The per-epoch log of a run: from its card when it finished, else from its checkpoint (a run
    that diverged or was stopped keeps the epochs it completed)."""
    from aae_core.weights import read_json

    if (folder / "card.json").exists():
        return read_json(folder / "card.json").get("history", [])
    if (folder / "checkpoint.pt").exists():
        from aae_core.fit import load_checkpoint

        return load_checkpoint(folder / "checkpoint.pt")["meta"].get("history", [])
    return stop_reason(folder).get("history", [])  # a diverged run brought home without its checkpoint


def stop_reason(folder: Path) -> dict:
    """Why an unfinished run stopped, as its training wrote it ({} when it did not say)."""
    from aae_core.fit import STOPPED
    from aae_core.weights import WeightsError, read_json

    try:
        return read_json(folder / STOPPED) if (folder / STOPPED).exists() else {}
    except WeightsError:
        return {}


def curve_of(history: list[dict]) -> list[list[float]]:
    """[[epoch, validation score], …] from a run's per-epoch log."""
    return [[h["epoch"], compact(h["val_score"])] for h in history if "val_score" in h]


def validation_curve(folder: Path) -> list[list[float]]:
    """[[epoch, validation score], …] of a run, finished or not."""
    return curve_of(run_history(folder))


def ship(name: str, src: Path, pretrained: Path, data: str, fewest_bits: bool = False, **card_extra) -> None:
    """Copy the run folder ``src`` into ``pretrained/NAME``: weights in 8 bits (16 where 8 move a metric
    too far, said on the card; with ``fewest_bits``, 6 or 7 where they keep every metric within 1 %), the card named NAME and given ``card_extra``, the 2-D maps of a code
    above 2-D computed now (never on a request), the test codes left to be recomputed at load (an
    MNIST model's; ``aae_core.test_codes``)."""
    from aae_core import quantize
    from aae_core.data import load_dataset
    from aae_core.card_text import card_markdown
    from aae_core.weights import BITS, load_codes, load_model, read_json, save_model

    dst, tmp = pretrained / name, pretrained / f".{name}.new"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("checkpoint.pt"))
    if read_json(tmp / "config.json").get("dtype") not in BITS:  # float32 or a sweep's float16
        dataset = read_json(tmp / "card.json").get("dataset", "mnist")
        report = quantize.quantize_folder(tmp, load_dataset(data, "train", dataset), load_dataset(data, "test", dataset),
                                          0.01, name=name, fallback=True, fewest_bits=fewest_bits)
        if "refused" in report:
            shutil.rmtree(tmp)
            raise ValueError(f"{name}: {report}")
    model, codes = load_model(tmp), load_codes(tmp)
    card = dict(model.card, name=name, **card_extra)
    save_model(model, dst, card=card, dtype=card["weights_dtype"], codes=codes, card_markdown=card_markdown(name, card))
    shutil.rmtree(tmp, ignore_errors=True)  # save_model swapped the new folder in whole
    if codes is not None:
        _maps_and_slim(dst, codes, card, pretrained)


def _maps_and_slim(folder: Path, codes: dict, card: dict, pretrained: Path) -> None:
    """What a freshly written shipped folder still needs: the 2-D maps of a code above 2-D (computed
    now, never on a request), and an MNIST model's test codes left to be recomputed at load."""
    if codes["codes"].shape[1] > 2:
        from aae_core import projections
        projections.write(folder, projections.compute(codes["codes"].float().numpy()))
    if card.get("dataset", "mnist") == "mnist":
        from aae_core import load_test_set, test_codes
        test_codes.slim(folder, lambda: load_test_set(pretrained))


def fewer_bits(name: str, data: str, pretrained: Path) -> dict:
    """Round a shipped 8-bit model again to 6 or 7 bits where every metric stays within 1 % of its
    8-bit numbers (``quantize --fewest-bits``), its maps and codes redone as ``ship`` does; else as it was."""
    from aae_core import quantize
    from aae_core.data import load_dataset
    from aae_core.weights import load_codes, read_json

    folder = pretrained / name
    dataset = read_json(folder / "card.json").get("dataset", "mnist")
    report = quantize.quantize_folder(folder, load_dataset(data, "train", dataset), load_dataset(data, "test", dataset),
                                      0.01, name=name, fewest_bits=True)
    if "skipped" not in report and "refused" not in report:  # rewritten, its full test codes stored again
        _maps_and_slim(folder, load_codes(folder), read_json(folder / "card.json"), pretrained)
    return report


SEED_SUFFIX = re.compile(r"-seed(\d+)$")


def seed_cards(run: Path, log: Path | None = None) -> dict[int, dict]:
    """Every seed's card of the sweep setting that ``run`` (a sweep's ``FAMILY[-LABELS]--RECIPE-seedS``
    folder) belongs to: from a device run's log (``device-log.json``, which holds every seed's card) or,
    without one, from the sibling folders beside ``run``. {seed: card}."""
    from aae_core.weights import read_json

    match = SEED_SUFFIX.search(run.name)
    if not match:
        raise ValueError(f"{run.name!r} is not a sweep's seed folder (NAME--RECIPE-seedS)")
    stem = run.name[:match.start()]
    if log is not None:
        found = {k: v for entry in read_json(log).get("runs", []) for k, v in entry.get("cards", {}).items()}
    else:
        found = {f.name: read_json(f / "card.json") for f in run.parent.iterdir() if (f / "card.json").exists()}
    out = {}
    for folder, card in found.items():
        m = SEED_SUFFIX.search(folder)
        if m and folder[:m.start()] == stem:
            out[int(m.group(1))] = card
    return dict(sorted(out.items()))


def seeds_summary(cards: dict[int, dict], shipped_seed: int) -> dict:
    """Each seed's test metrics, their mean and standard deviation over the seeds (the paper's ± over
    runs), and the seed that ships."""
    import statistics

    metrics = {s: Card.of(c).metrics for s, c in cards.items()}

    def numbers(m: dict) -> set[str]:
        return {k for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}

    keys = sorted(set.intersection(*map(numbers, metrics.values()))) if metrics else []
    per = {str(s): {k: m[k] for k in keys} for s, m in metrics.items()}
    values = {k: [m[k] for m in metrics.values()] for k in keys}
    return {"n": len(cards), "shipped_seed": shipped_seed, "per_seed": per,
            "mean": {k: statistics.fmean(v) for k, v in values.items()},
            "std": {k: statistics.stdev(v) if len(v) > 1 else 0.0 for k, v in values.items()}}


def adopt(name: str, run: Path, data: str, pretrained: Path, log: Path | None = None) -> dict:
    """Ship a sweep's seed folder (the median-validation seed of its setting) as row ``name``, every
    seed's test numbers with mean ± std on the card (``seeds``)."""
    get_row(name)
    if not (run / "card.json").exists():
        raise ValueError(f"{run} holds no finished run (no card.json)")
    cards = seed_cards(run, log)
    summary = seeds_summary(cards, int(SEED_SUFFIX.search(run.name).group(1)))
    ship(name, run, pretrained, data, fewest_bits=name in SHIPPED and SHIPPED[name].fewest_bits, seeds=summary)
    return {"name": name, "shipped": run.name, "seeds": summary["n"], "mean": summary["mean"], "std": summary["std"]}


def pick(name: str, data: str, runs: Path, pretrained: Path) -> dict:
    """Copy the row's run with the best validation score into ``pretrained/NAME`` (8-bit weights)."""
    from aae_core.weights import read_json

    row = get_row(name)
    cards = {r: Card.of(read_json(run_folder(name, r, runs) / "card.json")) for r in row.recipes
             if (run_folder(name, r, runs) / "card.json").exists()}  # the runs that wrote their weights
    scores = {r: c.selection_score for r, c in cards.items()}
    if not scores:
        raise ValueError(f"{name}: no finished run under {runs}")
    best = min(scores, key=scores.get)
    compared = {r: {"validation_score": s, "run": run_folder(name, r, runs).name,
                    "curve": curve_of(cards[r].history), "epochs_done": cards[r].epochs_done}
                for r, s in scores.items()}
    for r in row.recipes:  # runs that never finished: diverged (NaN) or stopped, with the epochs they did
        folder = run_folder(name, r, runs)
        if r not in scores and ((folder / "checkpoint.pt").exists() or stop_reason(folder)):
            done = run_history(folder)
            why = stop_reason(folder)
            last = done[-1]["epoch"] if done else 0
            how = (f"diverged in epoch {why['epoch']} of {row.epochs} (a loss became NaN)" if why.get("reason") == "diverged"
                   else f"stopped after epoch {last} of {row.epochs}")
            compared[r] = {"validation_score": None, "run": folder.name, "curve": validation_curve(folder),
                           "unfinished": how + (f", after {last} full epoch{'s' if last != 1 else ''}" if why else "")}
    ship(name, run_folder(name, best, runs), pretrained, data, fewest_bits=row.fewest_bits, recipe_name=best,
         recipes_compared=compared)
    return {"name": name, "shipped": best, "validation_scores": scores}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aae_core.shipped", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    c = sub.add_parser("command")
    c.add_argument("name")
    c.add_argument("--recipe", default=None)
    c.add_argument("--data", default="../shared/data/mnist")
    c.add_argument("--out", default=None, help="output folder (default: pretrained/NAME)")
    c.add_argument("--epochs", type=int, default=None, help="epochs (default: the row's)")
    for verb in ("train", "pick"):
        t = sub.add_parser(verb)
        t.add_argument("names", nargs="+", help="rows of the table, or 'all' (every MNIST row), 'relatives' or "
                                                "'fashion' (the Fashion-MNIST rows: --data names its folder)")
        t.add_argument("--data", default="../shared/data/mnist")
        t.add_argument("--runs", default=str(ROOT / "runs"))
        t.add_argument("--pretrained", default=str(ROOT / "pretrained"))
        t.add_argument("--jobs", type=int, default=2)
    f = sub.add_parser("fewer-bits", help="round shipped 8-bit models again to 6 or 7 bits where every metric "
                                          "stays within 1 %% of the 8-bit numbers (room in pretrained/)")
    f.add_argument("names", nargs="+")
    f.add_argument("--data", default="../shared/data/mnist")
    f.add_argument("--pretrained", default=str(ROOT / "pretrained"))
    a = sub.add_parser("adopt", help="ship a sweep's seed folder as a row, every seed's numbers on its card")
    a.add_argument("name")
    a.add_argument("run", help="the seed folder, e.g. runs/semi-aae-100--paper-sgd-semi-seed2")
    a.add_argument("--log", default=None, help="a device run's device-log.json (every seed's card); default: "
                                                "the sibling folders of RUN")
    a.add_argument("--data", default="../shared/data/mnist")
    a.add_argument("--pretrained", default=str(ROOT / "pretrained"))
    args = p.parse_args(argv)
    try:
        if args.cmd == "adopt":
            print(json.dumps(adopt(args.name, Path(args.run), args.data, Path(args.pretrained),
                                   Path(args.log) if args.log else None)), flush=True)
            return 0
        if args.cmd == "fewer-bits":
            for n in args.names:
                get_row(n)
                print(json.dumps(fewer_bits(n, args.data, Path(args.pretrained))), flush=True)
            return 0
        if args.cmd == "list":
            for row in SHIPPED.values():
                print(f"{row.name:24} {row.family:15} prior={row.prior or 'default':10} d={row.latent_dim or 'default'} "
                      f"hidden={','.join(map(str, row.hidden))} recipe={row.recipe} compare={','.join(row.compare) or '-'} "
                      f"epochs={row.epochs} select_by={row.select_by or 'family'}")
            return 0
        if args.cmd == "command":
            row = get_row(args.name)
            print(shlex.join(["python", "-m", "aae_core.train",
                              *row.train_args(args.data, args.out or f"pretrained/{row.name}", args.recipe,
                                              epochs=args.epochs)]))
            return 0
        groups = {"all": [n for n, r in SHIPPED.items() if r.dataset == "mnist"], "relatives": list(RELATIVES),
                  "fashion": list(FASHION)}
        names = groups[args.names[0]] if len(args.names) == 1 and args.names[0] in groups else args.names
        for n in names:
            get_row(n)
        if args.cmd == "train":
            return train_rows(names, args.data, Path(args.runs), args.jobs)
        for n in names:
            print(json.dumps(pick(n, args.data, Path(args.runs), Path(args.pretrained))), flush=True)
        return 0
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
