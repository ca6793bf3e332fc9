import gzip
import urllib.error

import numpy as np
import pytest

from aae_core import data
from aae_core.data import DataError, load_split
from tests.conftest import idx_bytes, write_idx_folder


def test_reads_gzipped_and_raw_files_alike(tmp_path):
    gz = load_split(write_idx_folder(tmp_path / "gz", gz=True), "train", "idx")
    raw = load_split(write_idx_folder(tmp_path / "raw", gz=False), "train", "idx")
    assert gz.images.shape == (300, 28, 28) and gz.images.dtype == np.uint8
    np.testing.assert_array_equal(gz.images, raw.images)
    np.testing.assert_array_equal(gz.labels, raw.labels)
    flat = gz.flat_float()
    assert flat.shape == (300, 784) and flat.dtype == np.float32 and 0 <= flat.min() and flat.max() == 1.0


def _rewrite(folder, stem, payload: bytes):
    (folder / f"{stem}.gz").unlink()
    with gzip.open(folder / f"{stem}.gz", "wb") as fh:
        fh.write(payload)


@pytest.mark.parametrize("mutate, message", [
    (lambda raw: raw[:-100], "truncated"),
    (lambda raw: raw + b"\0\0", "trailing bytes"),
    (lambda raw: b"\0\0\x08\x01" + raw[4:], "magic number"),
    (lambda raw: raw[:5], "too short|truncated"),
])
def test_corrupt_image_file_is_refused_naming_the_file(idx_folder, mutate, message):
    stem = "train-images-idx3-ubyte"
    with gzip.open(idx_folder / f"{stem}.gz", "rb") as fh:
        raw = fh.read()
    _rewrite(idx_folder, stem, mutate(raw))
    with pytest.raises(DataError, match=message) as err:
        load_split(idx_folder, "train", "idx")
    assert stem in str(err.value)


def test_labels_out_of_range_and_count_mismatch(idx_folder):
    _rewrite(idx_folder, "train-labels-idx1-ubyte", idx_bytes(np.full(300, 12, np.uint8)))
    with pytest.raises(DataError, match="out of the range"):
        load_split(idx_folder, "train", "idx")
    _rewrite(idx_folder, "train-labels-idx1-ubyte", idx_bytes(np.zeros(299, np.uint8)))
    with pytest.raises(DataError, match="300 images but 299 labels"):
        load_split(idx_folder, "train", "idx")


def test_wrong_image_shape(idx_folder):
    _rewrite(idx_folder, "train-images-idx3-ubyte", idx_bytes(np.zeros((300, 20, 20), np.uint8)))
    with pytest.raises(DataError, match=r"\(20, 20\)"):
        load_split(idx_folder, "train", "idx")


def test_not_gzip_at_all(idx_folder):
    (idx_folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"this is not gzip data")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        load_split(idx_folder, "test", "idx")


def test_missing_file_is_named(idx_folder):
    (idx_folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-images-idx3-ubyte"):
        load_split(idx_folder, "test", "idx")


def test_known_dataset_checks_sha256(idx_folder):
    # Well-formed IDX files that are not the real MNIST: refused when read as "mnist".
    with pytest.raises(DataError, match="sha256"):
        load_split(idx_folder, "train", "mnist")


def test_download_offline_names_folder_and_urls(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(DataError) as err:
        data.download("mnist", cache=tmp_path)
    text = str(err.value)
    assert str(tmp_path / "mnist") in text
    assert "train-images-idx3-ubyte.gz" in text and text.count("https://") >= 4


def test_download_skips_files_already_there(tmp_path, monkeypatch):
    write_idx_folder(tmp_path / "mnist")
    monkeypatch.setattr(data.urllib.request, "urlopen", lambda *a, **k: pytest.fail("should not download"))
    assert data.download("mnist", cache=tmp_path) == tmp_path / "mnist"


def test_fashion_mnist_uses_the_same_reader(tmp_path):
    folder = write_idx_folder(tmp_path / "fashion")
    with pytest.raises(DataError, match="fashion-mnist"):
        load_split(folder, "test", "fashion-mnist")
    assert len(load_split(folder, "test", "idx").labels) == 100
