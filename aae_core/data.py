"""Reading and verifying the MNIST / Fashion-MNIST IDX files.

The four standard files live in a folder the user names (gzipped or not). Every file is checked:
magic number, item count, image shape, label range, and, for the known files, the sha256 of the
uncompressed bytes. When the files are absent, they can be downloaded into a cache folder; offline,
the error names the folder and the URLs to fetch by hand.
"""
from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SPLIT_SIZES = {"train": 60_000, "test": 10_000}
DATASETS = ("mnist", "fashion-mnist", "idx")  # "idx": any IDX files with the standard names, no sha256 check
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
DATASET_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}  # the shipped models' data sets, as users read them
CLASS_NAMES = {  # what a label means, where it is not the digit itself
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"),
}

# sha256 of the *uncompressed* files (gzip bytes differ between mirrors; content does not).
KNOWN_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
DEFAULT_CACHE = Path(os.environ.get("AAE_DATA_CACHE", Path.home() / ".cache" / "aae-explorer"))


class DataError(ValueError):
    """A data file is missing, truncated or not what it claims to be."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # N×28×28 uint8
    labels: np.ndarray  # N int64 in [0, 9]

    def flat_float(self) -> np.ndarray:
        """N×784 float32 in [0, 1]."""
        return self.images.reshape(len(self.images), -1).astype(np.float32) / 255.0


MAX_IDX_BYTES = 64 << 20  # the largest standard file (training images) is 47 MB: an xz file inflating beyond is refused


def _read_bytes(path: Path) -> bytes:
    kind = {".gz": "gzip", ".xz": "xz"}.get(path.suffix, "raw")
    try:
        if kind == "gzip":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        if kind == "xz":  # the test set that ships in pretrained/ (a sixth smaller than gzip)
            inflate = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=64 << 20)
            raw = inflate.decompress(path.read_bytes(), max_length=MAX_IDX_BYTES)
            if not inflate.eof:
                raise DataError(f"{path}: truncated, or inflates beyond {MAX_IDX_BYTES >> 20} MiB")
            return raw
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile, lzma.LZMAError) as exc:
        raise DataError(f"{path}: cannot be read as {kind} data ({exc})") from exc


def parse_idx(raw: bytes, name: str, *, expect_magic: int) -> np.ndarray:
    """Parse an IDX buffer of unsigned bytes; ``name`` is used in error messages."""
    if len(raw) < 8:
        raise DataError(f"{name}: only {len(raw)} bytes, too short for an IDX header")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != expect_magic:
        kind = "image" if expect_magic == IMAGE_MAGIC else "label"
        raise DataError(f"{name}: magic number {magic}, expected {expect_magic} for an IDX {kind} file")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: header truncated ({len(raw)} bytes)")
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        raise DataError(f"{name}: {what}: {len(raw)} bytes, header {dims} needs {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def find_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz", folder / f"{stem}.xz"):
        if candidate.is_file():
            return candidate
    return None


def _verify_sha(raw: bytes, stem: str, path: Path, dataset: str) -> None:
    known = KNOWN_SHA256.get(dataset, {}).get(stem)
    if known is None:
        return
    got = hashlib.sha256(raw).hexdigest()
    if got != known:
        raise DataError(
            f"{path}: sha256 {got[:16]}… does not match the known {dataset} file ({known[:16]}…); "
            "the file is corrupt or is not the standard one"
        )


def load_split(folder: str | os.PathLike, split: str = "train", dataset: str = "mnist",
               *, check_sha: bool = True) -> Split:
    """Read and verify one split (``train`` or ``test``) from ``folder``."""
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be one of {sorted(SPLIT_FILES)}, got {split!r}")
    folder = Path(folder)
    img_stem, lbl_stem = SPLIT_FILES[split]
    paths = {stem: find_file(folder, stem) for stem in (img_stem, lbl_stem)}
    missing = [stem for stem, p in paths.items() if p is None]
    if missing:
        raise DataError(f"{folder}: missing {', '.join(missing)} (plain, .gz or .xz)")
    arrays = {}
    for stem, path in paths.items():
        raw = _read_bytes(path)
        if check_sha:
            _verify_sha(raw, stem, path, dataset)
        arrays[stem] = parse_idx(raw, str(path), expect_magic=IMAGE_MAGIC if stem == img_stem else LABEL_MAGIC)
    images, labels = arrays[img_stem], arrays[lbl_stem]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{paths[img_stem]}: images have shape {images.shape[1:]}, expected (28, 28)")
    if labels.ndim != 1:
        raise DataError(f"{paths[lbl_stem]}: labels have {labels.ndim} dimensions, expected 1")
    if len(images) != len(labels):
        raise DataError(f"{folder}: {len(images)} images but {len(labels)} labels in the {split} split")
    if check_sha and dataset in KNOWN_SHA256 and len(images) != SPLIT_SIZES[split]:
        raise DataError(f"{paths[img_stem]}: {len(images)} images, the {split} split has {SPLIT_SIZES[split]}")
    if len(labels) and labels.max() > 9:
        raise DataError(f"{paths[lbl_stem]}: label {int(labels.max())} is out of the range 0-9")
    return Split(images=images, labels=labels.astype(np.int64))


def download(dataset: str = "mnist", cache: str | os.PathLike | None = None, timeout: float = 20.0) -> Path:
    """Fetch the four gzipped files into ``cache`` (idempotent); offline, explain what to do by hand."""
    if dataset not in MIRRORS:
        raise ValueError(f"dataset must be one of {sorted(MIRRORS)}, got {dataset!r}")
    folder = Path(cache or DEFAULT_CACHE) / dataset
    folder.mkdir(parents=True, exist_ok=True)
    stems = [s for pair in SPLIT_FILES.values() for s in pair]
    for stem in stems:
        if find_file(folder, stem) is not None:
            continue
        errors = []
        for base in MIRRORS[dataset]:
            url = f"{base}{stem}.gz"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    payload = resp.read()
            except (urllib.error.URLError, OSError) as exc:
                errors.append(f"{url}: {exc}")
                continue
            tmp = folder / f".{stem}.gz.part"
            tmp.write_bytes(payload)
            os.replace(tmp, folder / f"{stem}.gz")
            break
        else:
            urls = "\n  ".join(f"{b}{s}.gz" for b in MIRRORS[dataset][:1] for s in stems)
            raise DataError(
                f"cannot download {stem} for {dataset} (no network?).\n"
                f"Put the four files into {folder} (or pass --data FOLDER) by hand, from:\n  {urls}\n"
                f"errors: {'; '.join(errors)}"
            )
    return folder


def load_dataset(folder: str | os.PathLike | None, split: str, dataset: str = "mnist",
                 *, allow_download: bool = True) -> Split:
    """Load a split from ``folder``; with no folder, from the cache, downloading when allowed."""
    if folder is not None:
        return load_split(folder, split, dataset)
    cache = Path(DEFAULT_CACHE) / dataset
    if not allow_download:
        return load_split(cache, split, dataset)
    return load_split(download(dataset), split, dataset)


def split_indices(n_total: int, val_size: int = 0, limit: int | None = None) -> tuple[slice, slice]:
    """(train, validation) slices of a training set of ``n_total`` images: the validation split is
    the last ``val_size`` images; training uses the first ``limit`` of the rest (all by default)."""
    if not 0 <= val_size < n_total:
        raise ValueError(f"the validation split must hold 0 to {n_total - 1} images, got {val_size}")
    n_train = n_total - val_size if limit is None else min(limit, n_total - val_size)
    if n_train < 1:
        raise ValueError(f"no training images left (limit {limit}, validation {val_size})")
    return slice(0, n_train), slice(n_total - val_size, n_total)


def labelled_subset(labels: np.ndarray, n: int, seed: int = 0, n_classes: int = 10) -> np.ndarray:
    """Indices of ``n`` labelled images, the same number from every class (n / n_classes each, the
    remainder to the lowest classes), drawn with ``seed``: sorted int64."""
    if not 0 < n <= len(labels):
        raise ValueError(f"the number of labelled images must be in 1..{len(labels)}, got {n}")
    rng = np.random.default_rng(seed)
    chosen = []
    for k in range(n_classes):
        want = n // n_classes + (1 if k < n % n_classes else 0)
        pool = np.flatnonzero(labels == k)
        if want > len(pool):
            raise ValueError(f"asked for {want} labelled images of class {k}, only {len(pool)} exist")
        chosen.append(rng.choice(pool, size=want, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)
