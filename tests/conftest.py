"""Shared fixtures: tiny IDX data sets written on the fly (the tests never need ../shared)."""
from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def idx_bytes(array: np.ndarray) -> bytes:
    """Serialise a uint8 array in IDX format (magic 0x08 type byte + ndim)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + array.tobytes()


def write_idx_folder(folder: Path, n_train: int = 300, n_test: int = 100, seed: int = 0, gz: bool = True) -> Path:
    """Four IDX files of synthetic 'digits': class k lights a k-dependent block of pixels."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = (rng.random((n, 28, 28)) * 40).astype(np.uint8)
        for i, k in enumerate(labels):
            r, c = 2 + 2 * (k // 5) * 6, 2 + (k % 5) * 5
            images[i, r:r + 10, c:c + 5] = 255
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{split}-{kind}-ubyte"
            data = idx_bytes(arr)
            if gz:
                with gzip.open(folder / f"{name}.gz", "wb") as fh:
                    fh.write(data)
            else:
                (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def idx_folder(tmp_path: Path) -> Path:
    return write_idx_folder(tmp_path / "idx")


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory) -> Path:
    """A small AAE trained by the CLI on synthetic data (shared by the tests that only read it)."""
    from aae_core import train

    base = tmp_path_factory.mktemp("trained")
    data = write_idx_folder(base / "idx")
    out = base / "aae-small"
    rc = train.main(["--model", "aae", "--data", str(data), "--dataset", "idx", "--hidden", "32,32",
                     "--set", "disc_hidden=[32]", "--epochs", "2", "--batch-size", "50", "--out", str(out),
                     "--no-progress", "--threads", "1"])
    assert rc == 0
    return out
