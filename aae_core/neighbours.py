"""Nearest neighbours in code space and in pixel space: what an encoder keeps and what it throws away
(the retrieval application of the autoencoder tutorial)."""
from __future__ import annotations

import numpy as np

CHUNK = 2048  # rows converted to float32 at a time: pixel rows stay bytes in memory


def distances(points: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance from ``query`` (d) to each row of ``points`` (N×d, any numeric dtype): N."""
    q = np.asarray(query, dtype=np.float32).ravel()
    if points.ndim != 2 or points.shape[1] != q.size:
        raise ValueError(f"points must be N×{q.size}, got {points.shape}")
    out = np.empty(len(points), dtype=np.float32)
    for start in range(0, len(points), CHUNK):
        block = points[start:start + CHUNK].astype(np.float32)  # CHUNK×d
        out[start:start + CHUNK] = ((block - q) ** 2).sum(axis=1)
    return out


def nearest(points: np.ndarray, query: np.ndarray, k: int, exclude: int | None = None) -> np.ndarray:
    """Indices of the ``k`` rows of ``points`` nearest to ``query``, closest first (ties: lower index
    first); ``exclude`` leaves that row (the query itself) out."""
    d = distances(points, query)
    if exclude is not None:
        d[exclude] = np.inf
    k = max(0, min(k, len(d) - (exclude is not None)))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(d, k - 1)[:k] if k < len(d) else np.arange(len(d))
    return part[np.lexsort((part, d[part]))]


def label_agreement(points: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int) -> float:
    """Share of the k nearest neighbours (the query left out) that carry the query's label, over the
    query indices given: how much of the digit's identity a space keeps in its distances."""
    hits = [np.mean(labels[nearest(points, points[i], k, exclude=int(i))] == labels[i]) for i in queries]
    return float(np.mean(hits)) if hits else float("nan")
