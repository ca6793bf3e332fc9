"""Every measured number, once: its key on the cards, the label a table or a page shows, which way is
better, how it is written, and the note that explains it (cards, captions, the results file). A new
metric is one row here (and its computation in ``aae_core.evaluate``)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str  # the key in a card's "metrics"
    label: str  # as a column or a figure shows it, with ↓ (lower is better) or ↑
    note: str  # what it measures, one sentence
    digits: int = 3  # decimals shown
    percent: bool = False  # a rate in [0, 1], shown as a percentage
    error_key: str | None = None  # a standard error shown as ± (the Parzen log-likelihood)

    def show(self, metrics: dict) -> str:
        """The value in ``metrics`` as text ("—" when the model has none)."""
        value = metrics.get(self.key)
        if value is None:
            return "—"
        if self.percent:
            return f"{100 * value:.{self.digits}f} %"
        se = metrics.get(self.error_key) if self.error_key else None
        return f"{value:.{self.digits}f}" + (f" ± {se:.{self.digits}f}" if se is not None else "")


METRICS: dict[str, Metric] = {m.key: m for m in [
    Metric("recon_bce", "recon. NLL (nats) ↓", "Bernoulli negative log-likelihood of a test image given its own "
           "code, nats over 784 pixels", digits=1),
    Metric("recon_mse", "recon. MSE ↓", "mean squared error per pixel of the reconstruction", digits=4),
    Metric("knn5_accuracy", "5-NN accuracy ↑", "how often a test code's five nearest training codes share its digit "
           "(a 5-NN classifier fit on the training codes)"),
    Metric("knn1_accuracy", "1-NN accuracy ↑", "how often a test code's nearest training code shares its digit "
           "(the ALAE authors' measure)"),
    Metric("linear_accuracy", "linear-probe accuracy ↑", "accuracy of a logistic-regression classifier fit on the "
           "standardised training codes, scored on the test codes (the ALAE authors' measure)"),
    Metric("prior_swd", "prior SWD ↓", "sliced 2-Wasserstein distance (256 random directions) between the 10k test "
           "codes and 10k prior samples (seed 0): how well the codes fill the prior, in the prior's own units"),
    Metric("prior_mmd", "prior MMD² ↓", "kernel maximum mean discrepancy (inverse multiquadratics, 7 scales, "
           "unbiased) between 2,000 test codes and 2,000 prior samples, both divided by the prior's spread: a second "
           "prior-match measure, independent of the SWD and comparable across priors", digits=4),
    Metric("cond_prior_swd", "digit-to-component distance ↓", "mean over digits k of the sliced Wasserstein distance "
           "between the codes of digit k and samples of the prior's component k (each digit on its own component)"),
    Metric("error", "test error ↓", "test error of the classifier q(y|x) (argmax)", digits=2, percent=True),
    Metric("cluster_error_paper", "clustering error, paper rule ↓", "clustering test error, each cluster named by "
           "its most confident validation image (the paper's rule)", digits=2, percent=True),
    Metric("cluster_error_majority", "clustering error, majority ↓", "clustering test error, each cluster named by "
           "the majority of its validation members", digits=2, percent=True),
    Metric("parzen_ll", "Parzen LL ↑", "Parzen-window log-likelihood of the test images (nats; 10,000 decoded prior "
           "samples, σ chosen on 1,000 validation images), ± its standard error", digits=1, error_key="parzen_se"),
    Metric("parzen_nll", "validation Parzen NLL ↓", "negative Parzen-window log-likelihood of validation images "
           "(10,000 decoded prior samples, σ chosen on 1,000 other validation images): the Parzen protocol kept inside "
           "the validation split, to choose an epoch", digits=1),
    Metric("parzen_se", "Parzen s.e.", "the Parzen log-likelihood's standard error over the test images", digits=1),
    Metric("parzen_sigma", "Parzen σ", "the Parzen kernel width chosen on validation"),
    Metric("parzen_sigma_grid", "Parzen σ grid", "the widths tried: smallest, largest, how many (×1.1 apart; the "
           "chosen one is inside)"),
    Metric("sample_sharpness", "sample sharpness ↑", "variance of the Laplacian of 16 images decoded from prior "
           "samples (0 for a blank image; blur lowers it)", digits=4),
]}


def label(key: str) -> str:
    return METRICS[key].label


def show(key: str, metrics: dict) -> str:
    return METRICS[key].show(metrics)


def caption(keys) -> str:
    """The notes of ``keys`` as one caption: 'label: note. label: note.'"""
    return " ".join(f"{METRICS[k].label.rstrip(' ↑↓')}: {METRICS[k].note}." for k in keys)
