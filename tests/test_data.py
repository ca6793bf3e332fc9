import gzip
import urllib.error
from pathlib import Path

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


def test_the_fashion_mnist_test_set_is_read_where_installed_and_its_absence_says_how_to_get_it(tmp_path, monkeypatch):
    import aae_core

    monkeypatch.setattr(aae_core, "fashion_folders", lambda: [tmp_path / "nowhere", tmp_path / "here"])
    with pytest.raises(DataError, match="apt install dataset-fashion-mnist"):
        aae_core.load_test_set(dataset="fashion-mnist")
    write_idx_folder(tmp_path / "here", n_test=10_000)  # synthetic files: the standard names, not the standard content
    with pytest.raises(DataError, match="sha256"):  # checked like any Fashion-MNIST file
        aae_core.load_test_set(dataset="fashion-mnist")
    monkeypatch.setitem(data.KNOWN_SHA256, "fashion-mnist", {})
    split = aae_core.load_test_set(dataset="fashion-mnist")
    assert split.images.shape[1:] == (28, 28) and len(split.labels) == len(split.images)
    with pytest.raises(ValueError, match="no test set"):
        aae_core.load_test_set(dataset="cifar")


def test_fashion_folders_look_in_the_environment_then_debian_then_the_cache(monkeypatch):
    import aae_core
    from aae_core.data import DEFAULT_CACHE

    monkeypatch.setenv("AAE_FASHION_MNIST", "/somewhere")
    assert aae_core.fashion_folders() == [Path("/somewhere"), Path("/usr/share/datasets/fashion-mnist"),
                                          Path(DEFAULT_CACHE) / "fashion-mnist"]
    monkeypatch.delenv("AAE_FASHION_MNIST")
    assert aae_core.fashion_folders()[0] == Path("/usr/share/datasets/fashion-mnist")
