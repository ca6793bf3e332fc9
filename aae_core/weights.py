"""The weights format: one folder per model.

    model.safetensors   encoder + decoder tensors (float16 or float32), nothing pickled
    config.json         {"model": registry name, "dtype": ..., "config": {...the config dataclass}}
    card.json           data, command, seed, epochs, wall time, hardware, metrics (read by the app)
    README.md           the same card for people
    codes.safetensors   optional: the 10k MNIST test codes (N×d float32), labels (N uint8) and,
                        for models with a categorical code, q(y|x) (N×K float32) and the
                        label of each cluster by the paper's and the majority rule (K int64)
    manifest.json       sha256 and size of every file above, and the parameter count

Loading checks every file against the manifest before parsing anything, rebuilds the model from
its config through the registry, loads strictly and returns it in eval mode.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aae_core.registry import get_model_class

FORMAT = "aae-explorer/1"
MANIFEST = "manifest.json"
MAX_JSON_BYTES = 1 << 20


class WeightsError(ValueError):
    """A weights folder is missing a file, or a file is corrupt, truncated or tampered with."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(path: Path, obj) -> None:
    _atomic_write(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def write_manifest(folder: Path, names: list[str], extra: dict | None = None) -> dict:
    """Hash the named files of ``folder`` into its manifest.json."""
    files = {name: {"sha256": sha256_file(folder / name), "bytes": (folder / name).stat().st_size}
             for name in sorted(names)}
    manifest = {"format": FORMAT, "files": files, **(extra or {})}
    write_json(folder / MANIFEST, manifest)
    return manifest


def read_json(path: Path) -> dict:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise WeightsError(f"{path}: {path.stat().st_size} bytes, too large for a JSON metadata file")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"{path}: missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise WeightsError(f"{path}: expected a JSON object")
    return data


def verify_folder(folder: Path, required: tuple[str, ...] = ()) -> dict:
    """Check every file named in the manifest (size, then sha256); return the manifest."""
    folder = Path(folder)
    if not folder.is_dir():
        raise WeightsError(f"{folder}: no such weights folder")
    manifest = read_json(folder / MANIFEST)
    files = manifest.get("files")
    if manifest.get("format") != FORMAT or not isinstance(files, dict):
        raise WeightsError(f"{folder / MANIFEST}: not an {FORMAT} manifest")
    for name in required:
        if name not in files:
            raise WeightsError(f"{folder / MANIFEST}: does not list the required file {name}")
    for name, entry in files.items():
        path = folder / name
        if Path(name).name != name or not isinstance(entry, dict):
            raise WeightsError(f"{folder / MANIFEST}: bad entry {name!r}")
        if not path.is_file():
            raise WeightsError(f"{path}: listed in the manifest but missing")
        size = path.stat().st_size
        if size != entry.get("bytes"):
            raise WeightsError(f"{path}: {size} bytes, the manifest says {entry.get('bytes')} (truncated or replaced)")
        if sha256_file(path) != entry.get("sha256"):
            raise WeightsError(f"{path}: sha256 does not match the manifest (corrupted or tampered with)")
    return manifest


def count_parameters(state: dict[str, torch.Tensor]) -> int:
    return sum(t.numel() for t in state.values())


def save_model(model, folder: str | os.PathLike, *, card: dict, half: bool = False,
               codes: dict[str, torch.Tensor] | None = None, card_markdown: str = "") -> Path:
    """Write a complete weights folder for ``model`` (see module docstring)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if half else torch.float32
    state = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.inference_state_dict().items()}
    tmp = folder / ".model.safetensors.tmp"
    save_file(state, str(tmp))
    os.replace(tmp, folder / "model.safetensors")
    write_json(folder / "config.json", {"model": model.model_name, "dtype": str(dtype).removeprefix("torch."),
                                        "config": model.config.to_dict()})
    write_json(folder / "card.json", card)
    _atomic_write(folder / "README.md", card_markdown.encode())
    if codes is not None:
        tmp = folder / ".codes.safetensors.tmp"
        save_file({k: v.contiguous() for k, v in codes.items()}, str(tmp))
        os.replace(tmp, folder / "codes.safetensors")
    elif (folder / "codes.safetensors").exists():
        (folder / "codes.safetensors").unlink()
    names = ["model.safetensors", "config.json", "card.json", "README.md"] + (["codes.safetensors"] if codes else [])
    write_manifest(folder, names, {"model": model.model_name, "parameters": count_parameters(state)})
    return folder


def rewrite_card_markdown(folder: str | os.PathLike, markdown: str) -> None:
    """Replace a verified weights folder's README.md (the card for people) and re-hash the manifest."""
    folder = Path(folder)
    manifest = verify_folder(folder, required=("README.md",))
    _atomic_write(folder / "README.md", markdown.encode())
    extra = {k: v for k, v in manifest.items() if k not in ("format", "files")}
    write_manifest(folder, list(manifest["files"]), extra)


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a valid safetensors file ({exc})") from None


def load_model(folder: str | os.PathLike):
    """Verify and load a weights folder; returns the model in eval mode."""
    folder = Path(folder)
    manifest = verify_folder(folder, required=("model.safetensors", "config.json"))
    meta = read_json(folder / "config.json")
    try:
        cls = get_model_class(meta.get("model"))
        config = cls.config_class.from_dict(meta.get("config"))
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{folder / 'config.json'}: {exc}") from None
    state = _load_tensors(folder / "model.safetensors")
    if manifest.get("parameters") != count_parameters(state):
        raise WeightsError(f"{folder}: {count_parameters(state)} parameters, the manifest says {manifest.get('parameters')}")
    model = cls(config)
    try:
        model.load_inference_state_dict(state)
    except (RuntimeError, ValueError) as exc:
        raise WeightsError(f"{folder / 'model.safetensors'}: {exc}") from None
    model.eval()
    model.requires_grad_(False)
    model.card = read_json(folder / "card.json") if "card.json" in manifest["files"] else {}
    model.weights_dir = folder
    return model


def load_codes(folder: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The precomputed test codes of a verified weights folder: codes N×d, labels N."""
    folder = Path(folder)
    manifest = verify_folder(folder)
    if "codes.safetensors" not in manifest["files"]:
        raise WeightsError(f"{folder}: has no codes.safetensors")
    data = _load_tensors(folder / "codes.safetensors")
    optional = {"probs", "cluster_map_paper", "cluster_map_majority"}
    k = data["probs"].shape[-1] if "probs" in data else None
    if not {"codes", "labels"} <= set(data) <= {"codes", "labels"} | optional or data["codes"].dim() != 2 \
            or len(data["codes"]) != len(data["labels"]) \
            or ("probs" in data and (data["probs"].dim() != 2 or len(data["probs"]) != len(data["codes"]))) \
            or any(data[m].shape != (k,) for m in ("cluster_map_paper", "cluster_map_majority") if m in data):
        raise WeightsError(f"{folder / 'codes.safetensors'}: expected tensors 'codes' (N×d), 'labels' (N) "
                           "and, for models with a categorical code, 'probs' (N×K) and cluster maps (K)")
    return data
