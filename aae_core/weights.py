"""The weights format: one folder per model.

    model.safetensors.xz  (xz-compressed safetensors; a plain model.safetensors is read too)
                        encoder + decoder tensors, nothing pickled: float32, float16, or "int8" —
                        every weight matrix (out×in) as int8 rows q with a float32 scale per row
                        ("NAME::scale", out), w ≈ q · scale (symmetric, |q| ≤ 127), dequantised at
                        load; biases and other tensors in float32 — or "int7" / "int6": the same
                        with |q| ≤ 63 / 31 (smaller under xz)
    config.json         {"model": registry name, "dtype": ..., "config": {...the config dataclass}}
    card.json           data, command, seed, epochs, wall time, hardware, metrics (read by the app)
    README.md           the same card for people
    codes.safetensors.xz  optional (xz-compressed; plain is read too): the 10k MNIST test codes
                        (N×d, stored float16, read as float32), labels (N uint8) and,
                        for models with a categorical code, q(y|x) (N×K float32) and the
                        label of each cluster by the paper's and the majority rule (K int64);
                        a shipped MNIST folder keeps only the clusters' labels, its codes
                        recomputed at load from the shipped test set (aae_core.test_codes)
    manifest.json       sha256 and size of every file above, and the parameter count

Loading checks every file against the manifest before parsing anything, rebuilds the model from
its config through the registry, loads strictly and returns it in eval mode.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import lzma
import os
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from aae_core.registry import get_model_class

FORMAT = "aae-explorer/1"
MANIFEST = "manifest.json"
MAX_JSON_BYTES = 1 << 20
BITS = {"int8": 8, "int7": 7, "int6": 6}  # rounded weights, all stored as int8 rows: |q| ≤ 2^(bits−1) − 1
DTYPES = ("float32", "float16", *BITS)
SCALE = "::scale"
WEIGHTS, CODES = "model.safetensors.xz", "codes.safetensors.xz"
PROJECTIONS = "projections.safetensors.xz"  # optional: 2-D maps (PCA, UMAP) of codes of more than 2 dimensions
MAX_TENSOR_BYTES = 256 << 20  # a compressed file that inflates beyond this is refused (an xz bomb)


def save_file(tensors: dict[str, torch.Tensor], path: str | os.PathLike) -> None:
    """safetensors, xz-compressed when the name ends in .xz (int8 weights shrink by about a fifth)."""
    data = save_bytes(tensors)
    Path(path).write_bytes(lzma.compress(data, preset=6) if str(path).endswith(".xz") else data)


def stored_name(manifest: dict, name: str) -> str | None:
    """The file a manifest lists for ``name`` ("model.safetensors.xz"), or its plain form, or None."""
    files = manifest.get("files", {})
    return next((n for n in (name, name.removesuffix(".xz")) if n in files), None)


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


def _one_line(value) -> bool:
    """Whether a JSON value reads well on one line: a scalar, a list of scalars (or of scalar pairs,
    a curve), a flat object (a history row)."""
    if not isinstance(value, (dict, list)):
        return True
    if isinstance(value, list):
        return all(not isinstance(v, (dict, list)) or (isinstance(v, list) and _one_line(v)) for v in value)
    return all(not isinstance(v, (dict, list)) for v in value.values())


def json_text(obj, level: int = 0) -> str:
    """JSON with sorted keys, nested objects indented by two spaces, and each list of numbers, curve or
    flat row on one line: a 200-epoch card's history is 200 lines, not 1,400 (the cards are a sixth of
    what ``pretrained/`` would otherwise spend on them). ``json.loads`` gives back exactly ``obj``."""
    pad = "  " * (level + 1)
    if isinstance(obj, dict) and obj and not (level and _one_line(obj)):
        rows = (f"{pad}{json.dumps(k)}: {json_text(obj[k], level + 1)}" for k in sorted(obj))
        return "{\n" + ",\n".join(rows) + "\n" + "  " * level + "}"
    if isinstance(obj, list) and not _one_line(obj):
        rows = (pad + json_text(v, level + 1) for v in obj)
        return "[\n" + ",\n".join(rows) + "\n" + "  " * level + "]"
    return json.dumps(obj, sort_keys=True)


def write_json(path: Path, obj) -> None:
    _atomic_write(path, (json_text(obj) + "\n").encode())


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
    inside = folder.resolve()
    for path in folder.iterdir():  # a weights folder holds its own files, never links out of it
        if path.is_symlink() and inside not in path.resolve().parents:
            raise WeightsError(f"{path}: a link to outside its weights folder, refused")
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


def quantize_int8(state: dict[str, torch.Tensor], bits: int = 8) -> dict[str, torch.Tensor]:
    """Per-row symmetric ``bits``-bit weights (8, 7 or 6), stored as int8: every weight matrix W
    (out×in, or a convolution's kernels, out×…) → int8 Q with |Q| ≤ 2^(bits−1) − 1 and a float32 scale
    per slice along the first dimension (``NAME::scale``), W ≈ Q · scale; vectors (biases, batch-norm
    statistics) stay float32. Fewer bits compress smaller under xz (6 bits: ~30 % less than 8)."""
    if bits not in BITS.values():
        raise ValueError(f"bits must be one of {sorted(BITS.values())}, got {bits}")
    levels = 2 ** (bits - 1) - 1
    out = {}
    for name, t in state.items():
        t = t.detach().to("cpu", torch.float32)
        if t.dim() >= 2:
            scale = t.abs().flatten(1).amax(1) / levels  # first dimension
            scale = torch.where(scale > 0, scale, torch.ones_like(scale))
            out[name] = torch.round(t / scale.view(-1, *[1] * (t.dim() - 1))).clamp(-levels, levels).to(torch.int8).contiguous()
            out[name + SCALE] = scale.contiguous()
        else:
            out[name] = t.contiguous()
    return out


def dequantize_int8(stored: dict[str, torch.Tensor], where: Path, bits: int = 8) -> dict[str, torch.Tensor]:
    """The inverse of ``quantize_int8``; refuses a file whose int8 tensors and scales do not pair up,
    or whose values exceed what ``bits`` allows."""
    levels = 2 ** (bits - 1) - 1
    state = {}
    for name, t in stored.items():
        if name.endswith(SCALE):
            if name[:-len(SCALE)] not in stored:
                raise WeightsError(f"{where}: scale {name!r} belongs to no weight")
            continue
        if t.dtype == torch.int8:
            scale = stored.get(name + SCALE)
            if t.dim() < 2 or scale is None or scale.dtype != torch.float32 or scale.shape != (t.shape[0],) \
                    or not bool(torch.isfinite(scale).all()) or bool((scale <= 0).any()) or bool((t.abs() > levels).any()):
                raise WeightsError(f"{where}: int8 weight {name!r} lacks a valid per-row scale (tampered with?)")
            state[name] = t.float() * scale.view(-1, *[1] * (t.dim() - 1))
        elif t.dtype == torch.float32 and name + SCALE not in stored:
            state[name] = t
        else:
            raise WeightsError(f"{where}: tensor {name!r} is {t.dtype}, expected int8 weights or float32")
    return state


def save_model(model, folder: str | os.PathLike, *, card: dict, dtype: str = "float32",
               codes: dict[str, torch.Tensor] | None = None, card_markdown: str = "") -> Path:
    """Write a complete weights folder for ``model`` (see module docstring); ``dtype``: one of DTYPES.

    All or nothing: the folder is built beside the target and swapped in at the end, so a failure
    part-way (a full disk) leaves the previous folder as it was, and no half-written one."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _rebuilt(folder) as build:
        build.mkdir()
        _write_folder(model, build, card, dtype, codes, card_markdown)
    return folder


@contextlib.contextmanager
def _rebuilt(folder: Path, dropped: tuple[str, ...] = ()):
    """Yields a fresh path beside ``folder`` to build its new version in; swapped in whole if the
    block succeeds, removed either way (a failure leaves ``folder`` as it was). ``dropped``: files of
    the old folder that must not be carried across as extras."""
    build = folder.with_name(f".{folder.name}.writing")
    shutil.rmtree(build, ignore_errors=True)
    try:
        yield build
        _swap_in(build, folder, dropped)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _write_folder(model, build: Path, card: dict, dtype: str, codes, card_markdown: str) -> None:
    state = {k: v.detach().to("cpu") for k, v in model.inference_state_dict().items()}
    stored = quantize_int8(state, BITS[dtype]) if dtype in BITS else \
        {k: v.to(getattr(torch, dtype)).contiguous() for k, v in state.items()}
    save_file(stored, build / WEIGHTS)
    write_json(build / "config.json", {"model": model.model_name, "dtype": dtype, "config": model.config.to_dict()})
    write_json(build / "card.json", card)
    _atomic_write(build / "README.md", card_markdown.encode())
    if codes is not None:  # float codes and q(y|x) in float16: ample for plots, half the bytes
        save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in codes.items()}, build / CODES)
    names = [WEIGHTS, "config.json", "card.json", "README.md"] + ([CODES] if codes else [])
    write_manifest(build, names, {"model": model.model_name, "parameters": count_parameters(state)})


def _swap_in(build: Path, folder: Path, dropped: tuple[str, ...] = ()) -> None:
    """Replace ``folder`` by the finished ``build``: the old folder is renamed aside, the new one
    renamed in (the old one is put back if that fails), then files the old folder held that a
    weights folder does not own (a training run's checkpoint) move across, and the old one goes."""
    old = folder.with_name(f".{folder.name}.old")
    if old.exists():  # left by a crash: between the renames (the only copy), or before the extras moved
        if folder.exists():
            _move_extras(old, folder, dropped)
            shutil.rmtree(old)
        else:
            os.replace(old, folder)
    if not folder.exists():
        os.replace(build, folder)
        return
    os.replace(folder, old)
    try:
        os.replace(build, folder)
    except OSError:
        os.replace(old, folder)
        raise
    _move_extras(old, folder, dropped)
    shutil.rmtree(old, ignore_errors=True)


def _move_extras(old: Path, folder: Path, dropped: tuple[str, ...] = ()) -> None:
    """Move the files a weights folder does not own (a training checkpoint) from ``old`` to ``folder``."""
    for extra in old.iterdir():
        if extra.name not in _OWNED and extra.name != MANIFEST and extra.name not in dropped \
                and not (folder / extra.name).exists():
            os.replace(extra, folder / extra.name)


_OWNED = {WEIGHTS, CODES, PROJECTIONS, WEIGHTS.removesuffix(".xz"), CODES.removesuffix(".xz"),
          PROJECTIONS.removesuffix(".xz"), "config.json", "card.json", "README.md"}  # new weights: old maps go


def rewrite_card_markdown(folder: str | os.PathLike, markdown: str) -> None:
    """Replace a verified weights folder's README.md (the card for people) and re-hash the manifest,
    all or nothing (built beside the folder, then swapped in)."""
    replace_files(folder, {"README.md": markdown.encode()}, required=("README.md",))


def replace_files(folder: str | os.PathLike, files: dict[str, bytes], required: tuple[str, ...] = (),
                  drop: tuple[str, ...] = ()) -> None:
    """Write (or replace) files of a verified weights folder, remove the files named in ``drop``, and
    re-hash its manifest, all or nothing (built beside the folder, then swapped in)."""
    folder = Path(folder)
    manifest = verify_folder(folder, required=required)
    if set(drop) & (set(required) | set(files)):
        raise ValueError(f"cannot both keep and drop {sorted(set(drop) & (set(required) | set(files)))}")
    with _rebuilt(folder, drop) as build:
        shutil.copytree(folder, build)
        for name in drop:
            (build / name).unlink(missing_ok=True)
        for name, data in files.items():
            _atomic_write(build / name, data)
        write_manifest(build, sorted((set(manifest["files"]) - set(drop)) | set(files)),
                       {k: v for k, v in manifest.items() if k not in ("format", "files")})


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        data = path.read_bytes()
        if path.name.endswith(".xz"):
            inflate = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=64 << 20)
            data = inflate.decompress(data, max_length=MAX_TENSOR_BYTES)
            if not inflate.eof:
                raise WeightsError(f"{path}: inflates beyond {MAX_TENSOR_BYTES >> 20} MiB or is truncated, refused")
        return load_bytes(data)
    except WeightsError:
        raise
    except (SafetensorError, OSError, ValueError, lzma.LZMAError) as exc:
        raise WeightsError(f"{path}: not a valid safetensors file ({exc})") from None


def load_tensors(folder: Path, manifest: dict, name: str) -> dict[str, torch.Tensor]:
    """The tensors of a verified folder's file ``name`` (compressed or plain, as its manifest lists)."""
    stored = stored_name(manifest, name)
    if stored is None:
        raise WeightsError(f"{folder}: has no {name.removesuffix('.xz')}")
    return _load_tensors(folder / stored)


def _checked_config(folder: Path):
    """Verify a weights folder; (manifest, config.json's content, model class, typed config)."""
    manifest = verify_folder(folder, required=("config.json",))
    meta = read_json(folder / "config.json")
    try:
        cls = get_model_class(meta.get("model"))
        config = cls.config_class.from_dict(meta.get("config"))
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{folder / 'config.json'}: {exc}") from None
    if meta.get("dtype") not in DTYPES:
        raise WeightsError(f"{folder / 'config.json'}: dtype must be one of {DTYPES}, got {meta.get('dtype')!r}")
    return manifest, meta, cls, config


def read_card(folder: str | os.PathLike) -> dict:
    """A weights folder's card, the folder verified (every file's size and sha256, its config) but
    no network built: what a list of models needs, at a fraction of the memory of loading them."""
    folder = Path(folder)
    manifest = _checked_config(folder)[0]
    return read_json(folder / "card.json") if "card.json" in manifest["files"] else {}


def load_model(folder: str | os.PathLike):
    """Verify and load a weights folder; returns the model in eval mode."""
    folder = Path(folder)
    manifest, meta, cls, config = _checked_config(folder)
    state = load_tensors(folder, manifest, WEIGHTS)
    if meta["dtype"] in BITS:
        try:
            state = dequantize_int8(state, folder / WEIGHTS, BITS[meta["dtype"]])
        except RuntimeError as exc:  # shapes that cannot broadcast: a crafted file
            raise WeightsError(f"{folder / WEIGHTS}: malformed int8 weights ({exc})") from None
    if manifest.get("parameters") != count_parameters(state):
        raise WeightsError(f"{folder}: {count_parameters(state)} parameters, the manifest says {manifest.get('parameters')}")
    model = cls(config)
    try:
        model.load_inference_state_dict(state)
    except (RuntimeError, ValueError) as exc:
        raise WeightsError(f"{folder / WEIGHTS}: {exc}") from None
    model.eval()
    model.requires_grad_(False)
    model.card = read_json(folder / "card.json") if "card.json" in manifest["files"] else {}
    model.weights_dir = folder
    return model


def load_codes(folder: str | os.PathLike, manifest: dict | None = None) -> dict[str, torch.Tensor]:
    """What a verified weights folder's codes file stores: a training run's holds the test codes N×d
    and labels N (and q(y|x) N×K and the clusters' labels K for a categorical code); a shipped MNIST
    folder may hold only the clusters' labels, the rest recomputed (``aae_core.test_codes``).
    ``manifest``: the folder's, where the caller has just verified it (else it is verified here)."""
    folder = Path(folder)
    manifest = manifest if manifest is not None else verify_folder(folder)
    data = {k: (v.float() if v.is_floating_point() else v) for k, v in load_tensors(folder, manifest, CODES).items()}
    maps = {"cluster_map_paper", "cluster_map_majority"}
    rows = [len(data[k]) for k in ("codes", "labels", "probs") if k in data]
    k = {data["probs"].shape[-1]} if "probs" in data else {len(data[m]) for m in maps if m in data}
    if not set(data) <= {"codes", "labels", "probs"} | maps or len(set(rows)) > 1 or len(k) > 1 \
            or ("codes" in data and data["codes"].dim() != 2) or ("labels" in data and data["labels"].dim() != 1) \
            or ("probs" in data and data["probs"].dim() != 2) or any(data[m].dim() != 1 for m in maps if m in data):
        raise WeightsError(f"{folder / CODES}: expected tensors 'codes' (N×d), 'labels' (N) "
                           "and, for models with a categorical code, 'probs' (N×K) and cluster maps (K)")
    return data
