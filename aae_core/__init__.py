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


def load_test_set(root: str | os.PathLike | None = None):
    """The shipped MNIST test set (``pretrained/mnist-test``), verified: a ``data.Split``."""
    from aae_core.data import DataError, load_split
    from aae_core.weights import verify_folder

    folder = _inside(Path(root or PRETRAINED_DIR), "mnist-test")
    verify_folder(folder, required=("t10k-images-idx3-ubyte.xz", "t10k-labels-idx1-ubyte.xz"))
    try:
        return load_split(folder, "test", "mnist")
    except DataError as exc:
        raise WeightsError(str(exc)) from None
