"""Turn any user image (an upload or a canvas drawing) into an MNIST-like digit.

MNIST's own recipe (LeCun et al.): a white digit on black, its bounding box scaled to fit a 20×20
box with the aspect ratio kept, then placed in a 28×28 frame so that its centre of mass is the
centre. ``mnist_digit(data)`` does that for an image file's bytes; anything that is not a usable
image — not an image at all, truncated, too large, a decompression bomb, blank — raises
``ImageError`` with a message for the user. Nothing is ever executed or unpickled: Pillow decodes.
"""
from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 20 * 2**20  # uploads larger than this are refused before decoding
MAX_PIXELS = 40_000_000  # width × height; beyond it Pillow's decompression-bomb guard refuses
WORK_SIZE = 512  # images are shrunk to at most this many pixels per side before any arithmetic
MIN_RAW_RANGE = 64  # 16/32-bit images whose values span less than this (of 65,535) are blank, not stretched


class ImageError(ValueError):
    """The input cannot be read as an image of a digit; the message says why, for the user."""


def open_image(data: bytes) -> Image.Image:
    """Decode the first frame of an image file's bytes, shrunk to at most WORK_SIZE per side."""
    if not isinstance(data, (bytes, bytearray)):
        raise ImageError(f"expected the bytes of an image file, got {type(data).__name__}")
    if len(data) == 0:
        raise ImageError("the file is empty")
    if len(data) > MAX_BYTES:
        raise ImageError(f"the file is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w < 1 or h < 1 or w * h > MAX_PIXELS:
                raise ImageError(f"the image is {w}×{h} pixels; at most {MAX_PIXELS:,} pixels are accepted")
            img.seek(0)  # animated images: the first frame
            img.draft("RGB", (WORK_SIZE, WORK_SIZE))  # JPEG: decode at a reduced size
            img.load()
            if max(img.size) > WORK_SIZE:
                img = img.copy()
                img.thumbnail((WORK_SIZE, WORK_SIZE))
            return img
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("this is not an image file Pillow can read (PNG, JPEG, GIF, BMP, TIFF, WebP, …)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"the image declares more than {MAX_PIXELS:,} pixels (a decompression bomb?)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, MemoryError,
            ZeroDivisionError, struct.error) as exc:
        raise ImageError(f"the image file is damaged or truncated ({type(exc).__name__})") from None


def upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (phone photos); a broken EXIF block is ignored."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001  (EXIF parsing errors of every kind: keep the image as it is)
        return img


def to_gray(img: Image.Image) -> np.ndarray:
    """Any mode → H×W float64 in [0, 1]. Transparent images are flattened onto black or white,
    whichever shows the drawing with more contrast."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if img.mode != "F":  # 16/32-bit integers: stretched from their own darkest to brightest value,
            lo, hi = float(arr.min()), float(arr.max())  # not the type's range (a scan's ink often uses a low one)
            return (arr - lo) / (hi - lo) if hi - lo >= MIN_RAW_RANGE else np.zeros_like(arr)  # else: blank
        arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0)
        lo, hi = arr.min(initial=0.0), arr.max(initial=0.0)
        return np.clip(arr, 0, 1) if lo >= 0 and hi <= 1 else (arr - lo) / (hi - lo if hi > lo else 1.0)
    if img.mode == "P" and "transparency" in img.info or img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        gray = np.asarray(rgba.convert("L"), dtype=np.float64) / 255
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255
        on_black, on_white = gray * alpha, gray * alpha + (1 - alpha)
        return on_black if on_black.std() >= on_white.std() else on_white
    if img.mode == "CMYK":
        img = img.convert("RGB")
    return np.asarray(img.convert("L"), dtype=np.float64) / 255


def mnist_like(gray: np.ndarray, ink_threshold: float = 0.05) -> np.ndarray:
    """H×W in [0, 1], either polarity → 28×28 float32: white digit on black, fitted to 20×20,
    centred by its centre of mass."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    ink = np.abs(gray - background)  # white-on-black and black-on-white alike
    peak = ink.max(initial=0.0)
    if peak < 0.05:
        raise ImageError("the image is blank: there is no digit to read")
    ink = ink / peak
    ink[ink < ink_threshold] = 0.0  # paper texture, JPEG noise
    rows, cols = np.nonzero(ink)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]  # bounding box
    h, w = ink.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.LANCZOS))
    small = np.clip(small, 0, 1)
    out = np.zeros((28, 28), dtype=np.float32)
    top, left = (28 - size[1]) // 2, (28 - size[0]) // 2
    out[top:top + size[1], left:left + size[0]] = small
    total = out.sum()
    if total > 0:  # shift the centre of mass to (14, 14) in whole pixels, where MNIST puts it
        yy, xx = np.mgrid[0:28, 0:28]
        dy, dx = 14 - (yy * out).sum() / total, 14 - (xx * out).sum() / total
        out = shift(out, int(round(dy)), int(round(dx)))
    return out


def shift(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move an image by whole pixels, filling with zeros (what falls off the edge is lost)."""
    out = np.zeros_like(img)
    h, w = img.shape
    dy, dx = max(-h, min(h, dy)), max(-w, min(w, dx))
    out[max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = img[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    return out


MIN_SIDE = 5  # pixels: a smaller image cannot hold a readable digit


def mnist_digit(data: bytes) -> np.ndarray:
    """An image file's bytes → a 28×28 float32 MNIST-like digit in [0, 1] (or ``ImageError``)."""
    img = upright(open_image(data))
    if min(img.size) < MIN_SIDE:
        raise ImageError(f"the image is only {img.size[0]}×{img.size[1]} pixels: too small to hold a digit "
                         f"(at least {MIN_SIDE}×{MIN_SIDE} are needed)")
    try:
        gray = to_gray(img)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ImageError(f"the image could not be converted to grayscale ({type(exc).__name__})") from None
    return mnist_like(gray)
