"""Nearest neighbours: checked against a brute-force sort."""
from __future__ import annotations

import numpy as np
import pytest

from aae_core.neighbours import distances, label_agreement, nearest


def test_nearest_matches_a_full_sort_for_floats_and_bytes():
    rng = np.random.default_rng(0)
    for points in (rng.normal(size=(5000, 8)).astype(np.float32), rng.integers(0, 256, (3000, 784), dtype=np.uint8)):
        q = 17
        full = ((points.astype(np.float64) - points[q].astype(np.float64)) ** 2).sum(1)
        np.testing.assert_allclose(distances(points, points[q]), full, rtol=1e-5)
        full[q] = np.inf
        expected = np.lexsort((np.arange(len(full)), full))[:10]
        np.testing.assert_array_equal(nearest(points, points[q], 10, exclude=q), expected)
        assert q not in nearest(points, points[q], 10, exclude=q)
        assert nearest(points, points[q], 1)[0] == q  # itself, when not left out


def test_ties_closest_first_then_by_index_and_k_bounded():
    points = np.array([[0.0], [1.0], [-1.0], [2.0], [1.0]], dtype=np.float32)
    assert nearest(points, np.array([0.0]), 3, exclude=0).tolist() == [1, 2, 4]
    assert nearest(points, np.array([0.0]), 99, exclude=0).tolist() == [1, 2, 4, 3]
    assert nearest(points, np.array([0.0]), 0).tolist() == []
    with pytest.raises(ValueError, match="N×2"):
        distances(points, np.zeros(2))


def test_label_agreement_is_one_for_separated_clusters_and_half_for_mixed_ones():
    rng = np.random.default_rng(1)
    apart = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(10, 0.1, (50, 2))]).astype(np.float32)
    labels = np.repeat([0, 1], 50)
    assert label_agreement(apart, labels, np.arange(100), 5) == 1.0
    mixed = rng.normal(0, 1, (2000, 2)).astype(np.float32)
    share = label_agreement(mixed, rng.integers(0, 2, 2000), np.arange(200), 10)
    assert 0.4 < share < 0.6
