"""The AAE paper's MNIST numbers (Makhzani et al. 2015, arXiv:1511.05644) and the best public
re-implementations', for the side-by-side results table. Sources: ../shared/reference/aae-notes.md
(tags there: [P] paper, [?] commonly cited but not confirmed against the PDF)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "docs" / "parzen-calibration.json"


@dataclass(frozen=True)
class PaperResult:
    result: str  # what is measured
    model: str  # the shipped model that answers it
    metric: str  # key in the card's metrics
    paper: str  # the paper's number, as printed
    public: str  # the best public re-implementation's number
    unit: str  # "%" (errors, stored as fractions) or "nats"
    higher_is_better: bool = False
    paper_value: float | None = None  # for the gap (same unit as shown)


PAPER_RESULTS = (
    PaperResult("semi-supervised error, 100 labels", "semi-aae-100", "error", "1.90 ± 0.10 %",
                "~5 % (after 5000 epochs)", "%", paper_value=1.90),
    PaperResult("semi-supervised error, 1000 labels", "semi-aae-1000", "error", "1.60 ± 0.08 % [?]",
                "2.9 % (with 1280 labels)", "%", paper_value=1.60),
    PaperResult("semi-supervised error, all labels", "semi-aae-all", "error", "0.85 %", "—", "%", paper_value=0.85),
    PaperResult("clustering error, 16 clusters", "cluster-aae-16", "cluster_error_paper", "9.55 ± 2.05 %", "none",
                "%", paper_value=9.55),
    PaperResult("clustering error, 30 clusters", "cluster-aae-30", "cluster_error_paper", "4.10 ± 1.13 %", "none",
                "%", paper_value=4.10),
    PaperResult("Parzen-window log-likelihood, 8-D code", "aae-gaussian-8d", "parzen_ll", "340 ± 2", "345 ± 1.9",
                "nats", higher_is_better=True, paper_value=340.0),
)
BASELINES = ("Baselines the paper compares with: VAE M1+M2 3.33 / 2.40 % error (100 / 1000 labels); "
             "Parzen log-likelihood DBN 138, stacked CAE 121, deep GSN 214, GAN 225, GMMN+AE 282.")


def for_model(name: str) -> PaperResult | None:
    return next((r for r in PAPER_RESULTS if r.model == name), None)


def ours(result: PaperResult, metrics: dict) -> tuple[str, float | None]:
    """Our number as shown (with ± where the metric has a standard error) and its value."""
    value = metrics.get(result.metric)
    if value is None:
        return "—", None
    if result.unit == "%":
        return f"{100 * value:.2f} %", 100 * value
    se = metrics.get(result.metric.replace("_ll", "_se"))
    return (f"{value:.1f} ± {se:.1f}" if se is not None else f"{value:.1f}"), value


def over_seeds(result: PaperResult, seeds: dict | None) -> str | None:
    """Mean ± standard deviation over the seeds trained for a result (a card's ``seeds``), as the
    paper reports its ± over runs; None for a model trained once."""
    if not seeds or seeds.get("n", 0) < 2 or result.metric not in seeds.get("mean", {}):
        return None
    mean, std = seeds["mean"][result.metric], seeds["std"][result.metric]
    scale, unit = (100, " %") if result.unit == "%" else (1, "")
    return f"{scale * mean:.2f} ± {scale * std:.2f}{unit} over {seeds['n']} seeds"


def parzen_calibration(path: Path = CALIBRATION_FILE) -> dict | None:
    """The Parzen score of real training images and of k-NN local means through our protocol
    (written by ``python -m aae_core.calibrate``), or None when that file is absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {k: {"ll": float(data[k]["parzen_ll"]), "se": float(data[k]["parzen_se"]),
                    "sigma": float(data[k]["parzen_sigma"])} for k in ("real", "local_means")} | {"k": int(data["k"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None
