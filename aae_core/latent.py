"""Pure latent-space functions behind the app's pages: grids, paths, images, GIFs."""
from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image

INTERPOLATIONS = ("linear", "spherical")


def grid_points(lo: float, hi: float, n: int) -> torch.Tensor:
    """n×n points of a square grid over [lo, hi]², row-major from the top-left
    (y decreasing down the rows, as in an image): n²×2."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not hi > lo:
        raise ValueError(f"the range must satisfy hi > lo, got [{lo}, {hi}]")
    xs = torch.linspace(lo, hi, n)
    ys = torch.linspace(hi, lo, n)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], -1)


def tile(images: np.ndarray, rows: int, cols: int, pad: int = 0) -> np.ndarray:
    """images: (rows·cols)×784 in [0, 1] → one uint8 mosaic of 28×28 tiles."""
    if len(images) != rows * cols:
        raise ValueError(f"need {rows * cols} images for a {rows}×{cols} mosaic, got {len(images)}")
    size = 28 + pad
    out = np.zeros((rows * size - pad, cols * size - pad), dtype=np.uint8)
    tiles = to_uint8(images).reshape(rows, cols, 28, 28)
    for r in range(rows):
        for c in range(cols):
            out[r * size:r * size + 28, c * size:c * size + 28] = tiles[r, c]
    return out


def to_uint8(images) -> np.ndarray:
    """N×784 (or 784) floats in [0, 1] → uint8 of the same shape."""
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    return (np.clip(arr, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


@torch.no_grad()
def decode_grid(model, lo: float, hi: float, n: int) -> np.ndarray:
    """The decoded manifold of a 2-D model over [lo, hi]²: an (28n)×(28n) uint8 image."""
    if model.latent_dim != 2:
        raise ValueError(f"a manifold grid needs a 2-D latent space, this model has {model.latent_dim}")
    return tile(model.decode(grid_points(lo, hi, n)), n, n)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor | float, method: str = "linear") -> torch.Tensor:
    """Points at fractions t (T) along the path from z0 to z1 (each d): T×d.

    linear: (1−t)z0 + t·z1. spherical: slerp, sin((1−t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1 with Ω the
    angle between z0 and z1 (falls back to linear when they are (anti)parallel or zero).
    """
    if method not in INTERPOLATIONS:
        raise ValueError(f"method must be one of {INTERPOLATIONS}, got {method!r}")
    t = torch.as_tensor(t, dtype=z0.dtype).reshape(-1, 1)  # T×1
    linear = (1 - t) * z0 + t * z1
    if method == "linear":
        return linear
    n0, n1 = z0.norm(), z1.norm()
    if n0 < 1e-8 or n1 < 1e-8:
        return linear
    cos = torch.clamp((z0 @ z1) / (n0 * n1), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega < 1e-4 or math.pi - omega < 1e-4:
        return linear
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def upscale(img: np.ndarray, size: int) -> Image.Image:
    """A uint8 image, enlarged with sharp pixels to ``size`` pixels on its longer side."""
    pil = Image.fromarray(img, mode="L")
    scale = max(1, size // max(img.shape))
    return pil.resize((img.shape[1] * scale, img.shape[0] * scale), Image.NEAREST)


def png_bytes(img: np.ndarray, size: int = 280) -> bytes:
    buf = io.BytesIO()
    upscale(img, size).save(buf, format="PNG")
    return buf.getvalue()


def gif_bytes(frames: np.ndarray, size: int = 140, duration_ms: int = 80, bounce: bool = True) -> bytes:
    """frames: T×784 in [0, 1] → an animated, looping GIF (forth and back when ``bounce``)."""
    imgs = [upscale(f.reshape(28, 28), size) for f in to_uint8(frames)]
    if bounce and len(imgs) > 2:
        imgs = imgs + imgs[-2:0:-1]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=duration_ms, loop=0)
    return buf.getvalue()


def density_grid(prior, lo: float, hi: float, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """The prior's density on an n×n grid over [lo, hi]²: (axis values n, density n×n, rows = y)."""
    axis = torch.linspace(lo, hi, n)
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    with torch.no_grad():
        logp = prior.log_prob(torch.stack([gx.flatten(), gy.flatten()], -1))
    return axis.numpy(), logp.exp().reshape(n, n).numpy()


def hdr_levels(prior, masses=(0.5, 0.9, 0.99), n: int = 20_000) -> dict[float, float]:
    """Density levels whose contours enclose the given probability masses of the prior (highest
    density regions): the level for mass m is the (1 − m) quantile of p(z) at prior samples."""
    z, _ = prior.sample(n, torch.Generator().manual_seed(0))
    with torch.no_grad():
        dens = prior.log_prob(z).exp()
    return {m: float(torch.quantile(dens, 1 - m)) for m in masses}


# Marching squares: for each cell's corner pattern (bit 1: bottom-left, 2: bottom-right, 4: top-right,
# 8: top-left above the level), the cell edges its contour crosses (0 bottom, 1 right, 2 top, 3 left),
# as pairs joined by a segment. The two saddle cases join their edges one way (no disambiguation: a
# segment's choice, not its position, is at stake at that one cell).
_MS_EDGES = {1: [(3, 0)], 2: [(0, 1)], 3: [(3, 1)], 4: [(1, 2)], 5: [(3, 2), (0, 1)], 6: [(0, 2)], 7: [(3, 2)],
             8: [(2, 3)], 9: [(0, 2)], 10: [(0, 3), (1, 2)], 11: [(1, 2)], 12: [(1, 3)], 13: [(0, 1)],
             14: [(3, 0)]}


def contour_segments(axis: np.ndarray, density: np.ndarray, level: float) -> np.ndarray:
    """The level-``level`` contour of a density on a square grid (``density_grid``: axis n, density
    n×n with rows = y), as S×2×2 line segments in data coordinates ((x0, y0), (x1, y1)), each crossing
    point placed on its cell edge by linear interpolation (marching squares). For drawing outlines
    without a plotting library."""
    axis, d = np.asarray(axis, dtype=np.float64), np.asarray(density, dtype=np.float64)
    if d.ndim != 2 or d.shape != (len(axis), len(axis)):
        raise ValueError(f"density must be {len(axis)}×{len(axis)}, got {d.shape}")
    bl, br, tr, tl = d[:-1, :-1], d[:-1, 1:], d[1:, 1:], d[1:, :-1]  # (n−1)×(n−1) corners of each cell
    case = (bl > level) * 1 + (br > level) * 2 + (tr > level) * 4 + (tl > level) * 8
    x0, x1 = axis[:-1][None, :], axis[1:][None, :]
    y0, y1 = axis[:-1][:, None], axis[1:][:, None]

    def frac(a, b):  # where between corner values a and b the level is crossed
        return np.clip((level - a) / np.where(b == a, 1e-300, b - a), 0.0, 1.0)

    # each edge's crossing point, for every cell: (x, y)
    edges = [(x0 + frac(bl, br) * (x1 - x0), np.broadcast_to(y0, bl.shape)),   # bottom
             (np.broadcast_to(x1, bl.shape), y0 + frac(br, tr) * (y1 - y0)),   # right
             (x0 + frac(tl, tr) * (x1 - x0), np.broadcast_to(y1, bl.shape)),   # top
             (np.broadcast_to(x0, bl.shape), y0 + frac(bl, tl) * (y1 - y0))]   # left
    out = []
    for c, pairs in _MS_EDGES.items():
        rows, cols = np.nonzero(case == c)
        for a, b in pairs:
            out.append(np.stack([np.stack([edges[a][0][rows, cols], edges[a][1][rows, cols]], -1),
                                 np.stack([edges[b][0][rows, cols], edges[b][1][rows, cols]], -1)], 1))
    return np.concatenate(out) if out else np.zeros((0, 2, 2))


def contour_lines(axis: np.ndarray, density: np.ndarray, level: float) -> list[np.ndarray]:
    """``contour_segments`` joined end to end into polylines (each M×2, closed ones ending where they
    start), so that a dashed or dotted stroke runs along a whole outline instead of restarting at
    every grid cell."""
    segments = contour_segments(axis, density, level)
    key = lambda p: (round(float(p[0]), 9), round(float(p[1]), 9))  # noqa: E731  (a shared cell-edge point)
    ends: dict[tuple, list[int]] = {}
    for i, (a, b) in enumerate(segments):
        ends.setdefault(key(a), []).append(i)
        ends.setdefault(key(b), []).append(i)
    used = np.zeros(len(segments), dtype=bool)

    def extend(line: list) -> None:  # follow unused segments from the line's last point
        while True:
            nxt = [j for j in ends[key(line[-1])] if not used[j]]
            if not nxt:
                return
            j = nxt[0]
            used[j] = True
            a, b = segments[j]
            line.append(b if key(a) == key(line[-1]) else a)

    lines = []
    for i in range(len(segments)):
        if used[i]:
            continue
        used[i] = True
        line = [segments[i][0], segments[i][1]]
        extend(line)
        line.reverse()  # then the other way from the first point
        extend(line)
        lines.append(np.array(line))
    return lines


def outline_lines(axis: np.ndarray, density: np.ndarray, levels: dict[float, float]) -> dict[float, list[np.ndarray]]:
    """A prior's outlines: for each probability mass, the ``contour_lines`` of its density level."""
    return {mass: contour_lines(axis, density, level) for mass, level in levels.items()}


def nearest(codes, point) -> int:
    """Index of the code (N×d, tensor or array) nearest to ``point`` (d)."""
    return int(((codes - point) ** 2).sum(-1).argmin())


@torch.no_grad()
def style_sheet(model, z: torch.Tensor, labels=None) -> torch.Tensor:
    """Every style of z (S×d) written as every label: (S·K)×784, row s = style s, column k = label k
    (the paper's analogy figure). ``labels``: the columns, default all K classes."""
    z = torch.as_tensor(z, dtype=torch.float32).reshape(-1, model.latent_dim)  # S×d
    labels = torch.arange(model.n_classes) if labels is None else torch.as_tensor(labels)
    zs = z.repeat_interleave(len(labels), 0)  # (S·K)×d
    return model.decode(zs, labels.repeat(len(z)))


@torch.no_grad()
def component_walk(model, k: int, n: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode n points walking along prior component k: (points n×2, images n×784)."""
    path = model.prior.component_path(k, n)
    return path, model.decode(path)


def codes_csv(codes: np.ndarray, labels: np.ndarray, columns: dict[str, np.ndarray] | None = None) -> bytes:
    """A CSV of the test codes (N×d) for a spreadsheet or a notebook: test_index, label, z1…zd, then any
    extra N×2 columns (e.g. {"umap": N×2} → umap1, umap2)."""
    extra = columns or {}
    head = ["test_index", "label", *(f"z{i + 1}" for i in range(codes.shape[1]))]
    head += [f"{name}{j + 1}" for name, arr in extra.items() for j in range(arr.shape[1])]
    body = np.column_stack([codes, *extra.values()]) if extra else codes
    out = io.StringIO()
    out.write(",".join(head) + "\n")
    for i, (label, row) in enumerate(zip(labels, body)):
        out.write(f"{i},{int(label)}," + ",".join(f"{v:.5g}" for v in row) + "\n")
    return out.getvalue().encode()


DIGIT_RGB = np.array([[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
                      [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]], dtype=np.uint8)


def scatter_image(xy: np.ndarray, labels: np.ndarray, size: int = 240, extent: tuple[float, float] | None = None) -> np.ndarray:
    """A static picture of a map: points N×2 as 2×2-pixel dots coloured by digit (the app's palette)
    on white, square view ``extent`` (default: all but the outer 0.5 % of each side). → size×size×3 uint8."""
    lo, hi = extent or (float(np.quantile(xy, 0.005)), float(np.quantile(xy, 0.995)))
    img = np.full((size, size, 3), 255, dtype=np.uint8)
    scale = (size - 2) / max(hi - lo, 1e-9)
    col = np.floor((xy[:, 0] - lo) * scale).astype(int)
    row = np.floor((hi - xy[:, 1]) * scale).astype(int)  # y up
    keep = (col >= 0) & (col < size - 1) & (row >= 0) & (row < size - 1)
    for dr in (0, 1):
        for dc in (0, 1):
            img[row[keep] + dr, col[keep] + dc] = DIGIT_RGB[labels[keep] % 10]
    return img
