"""aae-explorer's training core: adversarial autoencoders and their relatives on MNIST.

Public API (used by the app and by outside scripts):
    list_pretrained() -> list[str]
    load_pretrained(name) -> eval-mode model with encode(x), decode(z), sample(n), .prior, .latent_dim
"""
from __future__ import annotations

import os
from pathlib import Path

from aae_core import models as _models  # noqa: F401  (registers every model family)
from aae_core.registry import list_models, register_model
from aae_core.weights import WeightsError, load_model, read_card

PRETRAINED_DIR = Path(os.environ.get("AAE_PRETRAINED_DIR", Path(__file__).resolve().parent.parent / "pretrained"))

__all__ = ["list_pretrained", "load_pretrained", "pretrained_codes", "list_models", "register_model",
           "load_model", "pretrained_card", "WeightsError", "PRETRAINED_DIR"]


def list_pretrained(root: str | os.PathLike | None = None) -> list[str]:
    """Names of the shipped models (folders of ``pretrained/`` that hold a config.json)."""
    root = Path(root or PRETRAINED_DIR)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file())


def _folder(name: str, root: str | os.PathLike | None) -> Path:
    names = list_pretrained(root)
    if name not in names:
        raise KeyError(f"no pretrained model {name!r}; available: {', '.join(names) or 'none'}")
    return _inside(Path(root or PRETRAINED_DIR), name)


def _inside(base: Path, name: str) -> Path:
    """base/name, refused when it is a link to a folder outside ``base``."""
    if base.resolve() not in (base / name).resolve().parents:
        raise WeightsError(f"{base / name}: a link to a folder outside {base.name}/, refused")
    return base / name


def load_pretrained(name: str, root: str | os.PathLike | None = None):
    """Load a shipped model by name (verified against its manifest), in eval mode."""
    return load_model(_folder(name, root))


def pretrained_card(name: str, root: str | os.PathLike | None = None) -> dict:
    """A shipped model's card, its folder verified, without loading the network."""
    return read_card(_folder(name, root))


def pretrained_codes(name: str, root: str | os.PathLike | None = None, model=None, test=None):
    """The shipped model's 10k MNIST test codes: {'codes': N×d float32, 'labels': N uint8} (and
    'probs' N×K, the clusters' labels K, for a categorical code); where the folder does not store
    them, one encoder pass over the shipped test set (``aae_core.test_codes``). ``model``: the model
    if already loaded; ``test``: the test split if already loaded."""
    from aae_core.test_codes import complete
    return complete(_folder(name, root), test if test is not None else (lambda: load_test_set(root)), model)


def load_test_set(root: str | os.PathLike | None = None, dataset: str = "mnist"):
    """A data set's test split, verified: a ``data.Split``. MNIST's ships (``pretrained/mnist-test``);
    Fashion-MNIST's does not (4.4 MB) and is read where it is installed (``fashion_folders()``), else a
    ``data.DataError`` says how to get it."""
    from aae_core.data import DataError, find_file, load_split
    from aae_core.weights import verify_folder

    if dataset == "fashion-mnist":
        for folder in fashion_folders():
            if find_file(folder, "t10k-images-idx3-ubyte") and find_file(folder, "t10k-labels-idx1-ubyte"):
                return load_split(folder, "test", "fashion-mnist")
        raise DataError("Fashion-MNIST's test images are not on this machine (they do not ship with the app: "
                        "4.4 MB). Install Debian's package (`apt install dataset-fashion-mnist`), or set "
                        "AAE_FASHION_MNIST to a folder holding t10k-images-idx3-ubyte(.gz) and "
                        "t10k-labels-idx1-ubyte(.gz).")
    if dataset != "mnist":
        raise ValueError(f"no test set for the data set {dataset!r}")
    folder = _inside(Path(root or PRETRAINED_DIR), "mnist-test")
    verify_folder(folder, required=("t10k-images-idx3-ubyte.xz", "t10k-labels-idx1-ubyte.xz"))
    try:
        return load_split(folder, "test", "mnist")
    except DataError as exc:
        raise WeightsError(str(exc)) from None


def fashion_folders() -> list[Path]:
    """Where Fashion-MNIST's files are looked for, in order: $AAE_FASHION_MNIST, Debian's
    dataset-fashion-mnist, the download cache of ``train --dataset fashion-mnist``."""
    from aae_core.data import DEFAULT_CACHE

    env = os.environ.get("AAE_FASHION_MNIST")
    return [Path(p) for p in (env, "/usr/share/datasets/fashion-mnist", Path(DEFAULT_CACHE) / "fashion-mnist") if p]
