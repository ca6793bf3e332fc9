"""User images → MNIST-like digits: good images are normalised, bad ones refused with a message."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from aae_core import load_test_set
from aae_core.preprocess import MAX_BYTES, ImageError, mnist_digit, mnist_like


def digit_image(size=(120, 160), ink=0, paper=255, offset=(10, 20)) -> Image.Image:
    """A test-set '7' drawn as ink on paper, scaled and off-centre on a larger page."""
    seven = load_test_set().images[0]  # label 7
    glyph = Image.fromarray(seven).resize((84, 84))
    page = Image.new("L", size, paper)
    mask = glyph
    page.paste(Image.new("L", glyph.size, ink), offset, mask)
    return page


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def reference() -> np.ndarray:
    """The test-set '7' through the same recipe at its own 28×28 size."""
    return mnist_like(load_test_set().images[0] / 255)


def test_a_digit_on_paper_comes_out_like_mnist():
    original = reference()
    assert correlation(original, load_test_set().images[0] / 255) > 0.8  # MNIST is made by the same recipe
    for ink, paper in ((0, 255), (255, 0), (40, 200)):
        out = mnist_digit(encode(digit_image(ink=ink, paper=paper), "PNG"))
        assert out.shape == (28, 28) and out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
        assert correlation(out, original) > 0.9, (ink, paper)  # scale, place and polarity do not matter
        rows, cols = np.nonzero(out > 0.1)
        assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 <= 21  # fitted to 20×20
        yy, xx = np.mgrid[0:28, 0:28]
        assert abs((yy * out).sum() / out.sum() - 14) <= 0.5 and abs((xx * out).sum() / out.sum() - 14) <= 0.5


def test_the_drawing_pad_png_white_on_black_and_on_transparent():
    """What app/components/digit_pad sends: a 280×280 PNG, white ink on black (RGBA, opaque); a
    transparent canvas's white strokes (alpha = ink) read the same."""
    original = reference()
    page = np.asarray(digit_image(size=(280, 280), ink=255, paper=0))

    def png(rgba: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(buf, "PNG")
        return buf.getvalue()

    assert correlation(mnist_digit(png(np.dstack([page] * 3 + [np.full_like(page, 255)]))), original) > 0.9
    transparent = np.dstack([np.full_like(page, 255)] * 3 + [page])  # white strokes, alpha = ink
    assert correlation(mnist_digit(png(transparent)), original) > 0.9
    with pytest.raises(ImageError, match="blank"):
        mnist_digit(png(np.dstack([np.zeros((280, 280), np.uint8)] * 3 + [np.full((280, 280), 255, np.uint8)])))


def png_with_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height (a decompression bomb's header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def good_variants(rng) -> list[tuple[str, bytes]]:
    base = digit_image()
    out = []
    for mode in ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "F", "I;16"):
        img = base.convert(mode) if mode not in ("I;16", "I", "F") else base.convert("I")
        if mode == "I;16":
            img = Image.fromarray(np.asarray(base, dtype=np.uint16) * 257)
        elif mode == "F":
            img = Image.fromarray(np.asarray(base, dtype=np.float32) / 255)
        # high-bit-depth modes only where the format stores them (others would flatten them to black)
        formats = ("PNG", "TIFF") if mode in ("I", "I;16") else ("TIFF",) if mode == "F" else \
            ("PNG", "TIFF", "BMP", "GIF", "JPEG", "WEBP", "PPM", "ICO")
        for fmt in formats:
            try:
                out.append((f"{mode}.{fmt}", encode(img, fmt)))
            except (OSError, ValueError, KeyError):
                continue  # this format cannot store this mode: nothing to test
    frames = [digit_image(offset=(10 + 5 * i, 20)).convert("P") for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out.append(("animated.gif", buf.getvalue()))
    for i in range(15):  # random sizes and aspect ratios, either polarity
        w, h = (int(v) for v in rng.integers(30, 900, 2))
        ink, paper = (0, 255) if i % 2 else (255, 0)
        img = digit_image(size=(max(w, 100), max(h, 100)), ink=ink, paper=paper,
                          offset=(int(rng.integers(0, max(w, 100) - 84 + 1)), int(rng.integers(0, max(h, 100) - 84 + 1))))
        out.append((f"random-{i}.png", encode(img, "PNG")))
    out.append(("huge.png", encode(digit_image(size=(4000, 3000), offset=(1800, 1400)), "PNG")))
    out.append(("thin.png", encode(digit_image(size=(3000, 90), offset=(100, 3)), "PNG")))
    return out


def bad_variants(rng, goods) -> list[tuple[str, bytes]]:
    out = [("empty", b""), ("text", b"hello, this is not an image\n" * 10), ("html", b"<html><body>7</body></html>"),
           ("zip", b"PK\x03\x04" + bytes(100)), ("pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
           ("bomb.png", png_with_size(100_000, 100_000)), ("bomb-wide.png", png_with_size(1_000_000, 50)),
           ("zero.png", png_with_size(0, 10)), ("blank.png", encode(Image.new("L", (50, 50), 255), "PNG")),
           ("blank-black.jpg", encode(Image.new("RGB", (50, 50)), "JPEG")),
           ("too-big", b"\x89PNG" + bytes(MAX_BYTES + 1))]
    for i in range(80):  # random bytes, with and without an image signature
        junk = rng.bytes(int(rng.integers(1, 3000)))
        sig = [b"", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff", b"BM", b"II*\x00"][i % 6]
        out.append((f"junk-{i}", sig + junk))
    for name, data in goods[:60]:  # truncated and bit-flipped copies of real images
        cut = int(rng.integers(1, max(2, len(data) - 1)))
        out.append((f"truncated-{name}", data[:cut]))
        flipped = bytearray(data)
        for pos in rng.integers(0, len(data), 8):
            flipped[pos] ^= 0xFF
        out.append((f"flipped-{name}", bytes(flipped)))
    return out


def test_hundreds_of_generated_files_are_normalised_or_refused_with_a_message():
    rng = np.random.default_rng(0)
    goods = good_variants(rng)
    cases = goods + bad_variants(rng, goods)
    assert len(cases) >= 200
    normalised, refused = 0, 0
    for name, data in cases:
        try:
            out = mnist_digit(data)
        except ImageError as exc:  # the only exception the upload path may raise
            assert str(exc) and len(str(exc)) < 200, name
            refused += 1
            continue
        assert out.shape == (28, 28) and out.dtype == np.float32, name
        assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1, name
        normalised += 1
    # every well-formed image of a digit is read (bit-flipped ones may or may not be)
    for name, data in goods:
        assert mnist_digit(data).max() > 0.5, name
    assert refused >= 90 and normalised >= len(goods)


@pytest.mark.parametrize("peak", [300, 1000, 65535])
def test_a_16_bit_digit_is_read_by_its_own_range_not_the_types(peak):
    """A scan whose ink spans only 0..peak of 0..65535 is a digit, not a blank page."""
    base = np.asarray(digit_image(), dtype=np.float64) / 255  # paper 1, ink 0
    img = Image.fromarray((base * peak).astype(np.uint16))
    x = mnist_digit(encode(img, "PNG"))
    reference = mnist_digit(encode(digit_image(), "PNG"))
    assert correlation(x, reference) > 0.99


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (4, 4), (4, 60), (60, 3)])
def test_tiny_images_are_refused_as_too_small_not_blank(size):
    img = Image.new("L", size, 0)
    img.putpixel((0, 0), 255)
    with pytest.raises(ImageError, match=f"only {size[0]}×{size[1]} pixels: too small"):
        mnist_digit(encode(img, "PNG"))
    assert mnist_like(np.pad(np.ones((5, 5)), 3)).shape == (28, 28)  # 5×5 ink still makes a digit
