import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from aae_core import latent, metrics
from aae_core.priors import build_prior


def test_grid_points_run_like_an_image():
    pts = latent.grid_points(-1.0, 1.0, 3)
    assert pts.shape == (9, 2)
    assert pts[0].tolist() == [-1.0, 1.0]  # top-left is (lo, hi): y decreases down the rows
    assert pts[2].tolist() == [1.0, 1.0] and pts[-1].tolist() == [1.0, -1.0]
    with pytest.raises(ValueError):
        latent.grid_points(1.0, 1.0, 3)


def test_tile_places_each_image_in_its_cell():
    imgs = np.zeros((6, 784), np.float32)
    imgs[4] = 1.0  # row 1, col 1 of a 2×3 mosaic
    mosaic = latent.tile(imgs, 2, 3, pad=2)
    assert mosaic.shape == (2 * 30 - 2, 3 * 30 - 2) and mosaic.dtype == np.uint8
    assert mosaic[30:58, 30:58].min() == 255 and mosaic.sum() == 255 * 784
    with pytest.raises(ValueError, match="need 6 images"):
        latent.tile(imgs[:5], 2, 3)


@pytest.mark.parametrize("method", latent.INTERPOLATIONS)
def test_interpolation_hits_both_ends(method):
    a, b = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 2.0])
    path = latent.interpolate(a, b, torch.linspace(0, 1, 5), method)
    assert path.shape == (5, 2)
    assert torch.allclose(path[0], a) and torch.allclose(path[-1], b, atol=1e-6)


def test_slerp_keeps_the_norm_between_equal_norm_ends_and_linear_does_not():
    a, b = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 2.0])
    mid_s = latent.interpolate(a, b, 0.5, "spherical")[0]
    mid_l = latent.interpolate(a, b, 0.5, "linear")[0]
    assert mid_s.norm().item() == pytest.approx(2.0, rel=1e-5)
    assert mid_l.norm().item() == pytest.approx(2 ** 0.5, rel=1e-5)
    # parallel vectors fall back to the straight line instead of dividing by sin(0)
    assert torch.allclose(latent.interpolate(a, 2 * a, 0.5, "spherical")[0], 1.5 * a)
    with pytest.raises(ValueError):
        latent.interpolate(a, b, 0.5, "wiggly")


def test_gif_has_every_frame_and_bounces():
    frames = np.stack([np.full(784, v, np.float32) for v in (0.0, 0.5, 1.0)])
    gif = Image.open(io.BytesIO(latent.gif_bytes(frames, size=56)))
    assert gif.format == "GIF" and gif.n_frames == 4 and gif.size == (56, 56)  # 0, .5, 1, .5


def test_png_is_enlarged_with_sharp_pixels():
    img = np.array([[0, 255], [255, 0]], np.uint8)
    out = Image.open(io.BytesIO(latent.png_bytes(img, size=100)))
    assert out.size == (100, 100) and set(np.asarray(out).ravel().tolist()) == {0, 255}


def test_density_grid_peaks_where_the_prior_does():
    axis, dens = latent.density_grid(build_prior("gaussian"), -10, 10, 41)
    assert dens.shape == (41, 41) and dens.argmax() == 20 * 41 + 20


def test_nearest():
    codes = np.array([[0.0, 0.0], [5.0, 5.0], [-3.0, 1.0]])
    assert latent.nearest(codes, np.array([-2.5, 0.5])) == 2


def test_sliced_wasserstein_zero_for_identical_sets_and_grows_with_a_shift():
    torch.manual_seed(0)
    x = torch.randn(5000, 2)
    assert metrics.sliced_wasserstein(x, x) == pytest.approx(0.0, abs=1e-12)
    # a shift s gives sqrt(E_θ (θ·s)²) = |s| / sqrt(d) for directions uniform on the circle
    assert metrics.sliced_wasserstein(x, x + torch.tensor([3.0, 0.0]), n_projections=4000) == pytest.approx(
        3 / 2 ** 0.5, rel=0.03)
    with pytest.raises(ValueError, match="same shape"):
        metrics.sliced_wasserstein(x, x[:10])


def test_prior_match_is_small_for_prior_samples_and_large_for_a_point_mass():
    prior = build_prior({"name": "gaussian", "std": 5.0})
    z, _ = prior.sample(10_000, torch.Generator().manual_seed(1))
    assert metrics.prior_match(z, prior) < 0.15
    assert metrics.prior_match(torch.zeros(10_000, 2), prior) > 3.0


def test_knn_accuracy_on_separable_and_on_random_labels():
    codes = np.concatenate([np.zeros((50, 2)), np.full((50, 2), 10.0)]) + np.random.default_rng(0).normal(size=(100, 2))
    labels = np.repeat([0, 1], 50)
    assert metrics.knn_accuracy(codes, labels, codes, labels) == 1.0
    shuffled = np.random.default_rng(1).permutation(labels)
    assert metrics.knn_accuracy(codes, shuffled, codes, labels) < 0.8


def test_style_sheet_rows_are_styles_and_columns_are_labels():
    from aae_core.registry import get_model_class

    cls = get_model_class("supervised-aae")
    model = cls(cls.config_class(hidden=(16, 16), disc_hidden=(16,), latent_dim=3)).eval()
    z = torch.randn(2, 3)
    sheet = latent.style_sheet(model, z)
    assert sheet.shape == (20, 784)
    torch.testing.assert_close(sheet[10 + 7], model.decode(z[1:2], 7)[0])  # style 1, digit 7
    assert latent.style_sheet(model, z[0], labels=[4, 2]).shape == (2, 784)


def test_component_walk_decodes_the_path():
    from aae_core.registry import get_model_class

    cls = get_model_class("label-aae")
    model = cls(cls.config_class(hidden=(16, 16), disc_hidden=(16,))).eval()
    path, images = latent.component_walk(model, 3, n=6)
    assert path.shape == (6, 2) and images.shape == (6, 784)
    torch.testing.assert_close(images, model.decode(model.prior.component_path(3, 6)))


def test_parzen_sigma_search_lands_inside_its_grid_even_when_started_off_it():
    from aae_core import metrics

    g = torch.Generator().manual_seed(0)
    samples, val = torch.randn(2000, 2, generator=g) * 0.3, torch.randn(300, 2, generator=g) * 0.3
    # a grid that lies entirely above the optimum: the search walks down until the best is interior
    best, scores = metrics.parzen_select_sigma(samples, val, sigmas=(0.5, 0.55, 0.6))
    grid = sorted(scores)
    assert grid[0] < best < grid[-1] and scores[best] == max(scores.values())
    assert len(metrics.PARZEN_SIGMAS) >= 20
    ratios = [b / a for a, b in zip(metrics.PARZEN_SIGMAS, metrics.PARZEN_SIGMAS[1:])]
    assert max(ratios) < 1.11  # fine: a miss costs little


def test_prior_mmd_is_small_for_prior_samples_and_large_for_a_shifted_blob():
    from aae_core import metrics
    from aae_core.priors import build_prior

    prior = build_prior({"name": "mixture10"})
    z, _ = prior.sample(4000, torch.Generator().manual_seed(5))
    assert abs(metrics.prior_mmd(z, prior)) < 0.01
    blob = torch.randn(4000, 2) * 0.3 + 1.0
    assert metrics.prior_mmd(blob, prior) > 0.1
    # scale-free: the same comparison on a prior 5× wider gives the same number
    wide = build_prior({"name": "gaussian", "std": 5.0})
    narrow = build_prior({"name": "gaussian", "std": 1.0})
    zs = torch.randn(4000, 2) * 0.5
    assert metrics.prior_mmd(5 * zs, wide) == pytest.approx(metrics.prior_mmd(zs, narrow), rel=0.1)


def test_local_means_average_each_image_with_its_nearest_neighbours():
    from aae_core.calibrate import local_means, nearest_neighbours

    pool = torch.tensor([[0.0], [1.0], [10.0], [11.0], [12.0]])
    assert nearest_neighbours(pool[:1], pool, 2).tolist() == [[0, 1]]
    means = local_means(pool[[0, 3]], pool, k=2)  # itself and its two nearest
    torch.testing.assert_close(means, torch.tensor([[11 / 3], [11.0]]))


def test_calibration_rows_reach_the_results_table(tmp_path, monkeypatch):
    import json

    from aae_core import paper, report

    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"real": {"parzen_ll": 242.7, "parzen_se": 2.0, "parzen_sigma": 0.17},
                                "local_means": {"parzen_ll": 349.0, "parzen_se": 1.5, "parzen_sigma": 0.19}, "k": 10}))
    monkeypatch.setattr(paper, "CALIBRATION_FILE", path)
    monkeypatch.setattr(paper.parzen_calibration, "__defaults__", (path,))
    rows = report.calibration_rows(340.0)
    assert "242.7 ± 2.0" in rows[0] and "real training images" in rows[0]
    assert "349.0 ± 1.5" in rows[1] and "10 nearest neighbours" in rows[1] and "+9.0 nats" in rows[1]
    path.write_text("{broken")
    assert "not computed" in report.calibration_rows(340.0)[0]


def test_codes_csv_reads_back_as_the_codes_labels_and_extra_columns():
    import csv
    import io

    from aae_core.latent import codes_csv

    codes = np.array([[0.5, -1.25, 3.0], [1e-3, 2.0, -7.5]], dtype=np.float32)
    rows = list(csv.reader(io.StringIO(codes_csv(codes, np.array([7, 2]), {"umap": np.array([[1, 2], [3, 4.5]])}).decode())))
    assert rows[0] == ["test_index", "label", "z1", "z2", "z3", "umap1", "umap2"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1] and [int(r[1]) for r in rows[1:]] == [7, 2]
    np.testing.assert_allclose(np.array([[float(v) for v in r[2:5]] for r in rows[1:]]), codes, rtol=1e-4)
    assert rows[2][5:] == ["3", "4.5"]


def test_the_metric_table_writes_each_number_its_way_and_explains_it():
    from aae_core.card_text import METRIC_NOTES
    from aae_core.metric_table import METRICS, caption, show

    m = {"error": 0.01904, "parzen_ll": 340.12, "parzen_se": 2.04, "recon_bce": 101.26}
    assert show("error", m) == "1.90 %" and show("parzen_ll", m) == "340.1 ± 2.0" and show("recon_bce", m) == "101.3"
    assert show("prior_mmd", m) == "—"  # not measured for this model
    assert all(k == v.key and v.note and v.label for k, v in METRICS.items())
    assert set(METRIC_NOTES) == set(METRICS)  # the cards explain every metric from the same table
    assert caption(["error"]).startswith("test error: test error of the classifier")


def test_sharpness_is_zero_for_a_flat_image_and_falls_with_blur():
    import torch.nn.functional as F

    from aae_core.metrics import sharpness

    rng = np.random.default_rng(0)
    digits = (rng.random((8, 784)) > 0.7).astype(np.float32)  # crisp speckle
    blurred = F.avg_pool2d(torch.from_numpy(digits).reshape(8, 1, 28, 28), 3, stride=1, padding=1).reshape(8, 784)
    assert sharpness(np.zeros((2, 784))) == 0.0 and sharpness(np.full((2, 784), 0.7)) == pytest.approx(0.0, abs=1e-12)
    assert sharpness(blurred.numpy()) < 0.5 * sharpness(digits)


class _Sampler:
    """A stand-in model whose 'prior samples' are given images, cycled."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def sample(self, n: int, generator=None) -> torch.Tensor:
        return self.images[torch.arange(n) % len(self.images)]


def test_the_validation_parzen_nll_scores_the_second_half_with_a_width_from_the_first():
    """Samples that are the scored images themselves beat samples of noise by a wide margin, and
    the number is the negative mean log-likelihood of the second half at the width the first half picks."""
    from aae_core.evaluate import parzen_nll, selection_score

    torch.manual_seed(0)
    x = (torch.rand(40, 784) < 0.2).float()  # 20 to choose σ on, 20 to score
    near, noise = _Sampler(x[20:]), _Sampler(torch.rand(50, 784))
    assert parzen_nll(near, x, n_samples=100) < parzen_nll(noise, x, n_samples=100) - 100
    samples = near.sample(100)
    sigma, _ = metrics.parzen_select_sigma(samples, x[:20])
    expected = -float(metrics.parzen_log_likelihood(samples, x[20:], sigma).mean())
    assert parzen_nll(near, x, n_samples=100) == pytest.approx(expected)
    with pytest.raises(ValueError, match="at least 2"):
        parzen_nll(near, x[:1])
    from aae_core.models.aae import AAE, AAEConfig

    model = AAE(AAEConfig(hidden=(16,), disc_hidden=(8,), latent_dim=8)).eval()
    scores = selection_score(model, x, np.zeros(40, dtype=np.int64), labelled=False, metric="parzen_nll")
    assert scores["score"] == scores["parzen_nll"] and np.isfinite(scores["score"])


def test_a_sweep_sets_the_gaussian_priors_spread():
    from aae_core.sweep import family_config

    assert family_config("cluster-aae", 5, [16], "gaussian", 16, prior_std=1.0).prior == \
        {"name": "gaussian", "dim": 5, "std": 1.0}
    assert family_config("aae", 8, [16], "gaussian").prior == {"name": "gaussian", "dim": 8, "std": 5.0}  # its default


def test_contour_segments_trace_a_gaussian_s_circle():
    """A standard 2-D Gaussian's density contour at level p is the circle of radius √(−2 ln(2π p)):
    every segment end lies on it (to the grid's interpolation error), the segments go all the way round,
    and a level above the peak has none."""
    axis = np.linspace(-4, 4, 81)
    gx, gy = np.meshgrid(axis, axis)  # rows = y
    density = np.exp(-(gx ** 2 + gy ** 2) / 2) / (2 * np.pi)
    level = 0.05
    segments = latent.contour_segments(axis, density, level)
    radius = math.sqrt(-2 * math.log(2 * math.pi * level))
    ends = segments.reshape(-1, 2)
    assert segments.shape[1:] == (2, 2) and len(segments) > 40
    np.testing.assert_allclose(np.hypot(ends[:, 0], ends[:, 1]), radius, atol=0.02)
    angles = np.arctan2(ends[:, 1], ends[:, 0])
    assert np.histogram(angles, bins=12, range=(-np.pi, np.pi))[0].min() > 0  # all the way round
    length = np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1).sum()
    assert length == pytest.approx(2 * np.pi * radius, rel=0.01)  # the circumference
    assert len(latent.contour_segments(axis, density, 1.0)) == 0
    with pytest.raises(ValueError):
        latent.contour_segments(axis, density[:-1], level)


def test_contour_lines_join_the_segments_into_one_closed_outline_per_ring():
    axis = np.linspace(-4, 4, 81)
    gx, gy = np.meshgrid(axis, axis)
    density = np.exp(-(gx ** 2 + gy ** 2) / 2) / (2 * np.pi)
    lines = latent.contour_lines(axis, density, 0.05)
    assert len(lines) == 1  # one ring, one polyline
    ring = lines[0]
    assert len(ring) == len(latent.contour_segments(axis, density, 0.05)) + 1  # every segment, once
    np.testing.assert_allclose(ring[0], ring[-1])  # closed
    two = np.exp(-((gx - 2) ** 2 + gy ** 2) * 2) + np.exp(-((gx + 2) ** 2 + gy ** 2) * 2)  # two bumps: two rings
    assert len(latent.contour_lines(axis, two, 0.5)) == 2
