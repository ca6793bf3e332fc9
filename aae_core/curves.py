"""Validation curves of the shipped models, drawn from their cards:
``python -m aae_core.curves NAME... --out docs/curves.png``.

One panel per model: the validation score by epoch of every recipe compared for it (the curves that
``aae_core.shipped pick`` stored on the card), the shipped epoch marked. Drawn with Pillow alone.
"""
from __future__ import annotations

import argparse
import math
import sys

from PIL import Image, ImageDraw

import aae_core
from aae_core.card import Card
from aae_core.card_text import selection_metric_of

COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")
W, H, PAD = 460, 300, 48


def curves_of(card: Card | dict) -> dict[str, list[list[float]]]:
    card = Card.of(card)
    if card.recipes_compared:
        return {r: v.get("curve", []) for r, v in card.recipes_compared.items()}
    return {card.recipe_name or "run": [[h["epoch"], h["val_score"]] for h in card.history if "val_score" in h]}


def panel(name: str, card: Card | dict) -> Image.Image:
    card = Card.of(card)
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    d.text((PAD, 6), f"{name}: validation {selection_metric_of(card)} by epoch", fill="black")
    finite = {r: [(e, v) for e, v in c if v is not None and math.isfinite(v)] for r, c in curves_of(card).items()}
    curves = {r: c for r, c in finite.items() if c}  # a run that diverged at once has nothing to draw
    if not curves:
        d.text((PAD, H // 2), "no finite validation curve on this card", fill="black")
        return img
    xs = [e for c in curves.values() for e, _ in c]
    ys = [v for c in curves.values() for _, v in c]
    log = min(ys) > 0 and max(ys) / min(ys) > 20
    f = (lambda v: math.log10(v)) if log else (lambda v: v)  # noqa: E731
    x0, x1, y0, y1 = min(xs), max(xs), f(min(ys)), f(max(ys))
    y1 = y1 if y1 > y0 else y0 + 1
    x1 = x1 if x1 > x0 else x0 + 1
    px = lambda e: PAD + (e - x0) / (x1 - x0) * (W - PAD - 12)  # noqa: E731
    py = lambda v: H - PAD + 8 - (f(v) - y0) / (y1 - y0) * (H - PAD - 30)  # noqa: E731
    d.line([(PAD, 24), (PAD, H - PAD + 8), (W - 10, H - PAD + 8)], fill="#888")
    for v in (min(ys), max(ys)):
        d.text((4, py(v) - 6), f"{v:.3g}", fill="#444")
    for e in (x0, x1):
        d.text((px(e) - 6, H - PAD + 12), f"{e:g}", fill="#444")
    d.text((W // 2 - 20, H - 18), "epoch" + ("   (log scale)" if log else ""), fill="#444")
    for i, (recipe, c) in enumerate(curves.items()):
        color = COLORS[i % len(COLORS)]
        pts = [(px(e), py(v)) for e, v in c if math.isfinite(v)]
        if len(pts) > 1:
            d.line(pts, fill=color, width=2)
        shipped = recipe == card.recipe_name
        label = f"{recipe}{' (shipped)' if shipped else ''}"
        d.text((W - 10 - d.textlength(label), 24 + 14 * i), label, fill=color)
        if shipped and card.selected_epoch:
            hit = [(e, v) for e, v in c if e == card.selected_epoch]
            if hit:
                x, y = px(hit[0][0]), py(hit[0][1])
                d.ellipse([x - 5, y - 5, x + 5, y + 5], outline="black", width=2)
    return img


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aae_core.curves", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="+", help="shipped models")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--columns", type=int, default=2)
    args = p.parse_args(argv)
    panels = [panel(n, aae_core.load_pretrained(n).card) for n in args.names]
    cols = min(args.columns, len(panels))
    rows = math.ceil(len(panels) / cols)
    sheet = Image.new("RGB", (cols * W, rows * H), "white")
    for i, im in enumerate(panels):
        sheet.paste(im, ((i % cols) * W, (i // cols) * H))
    sheet.save(args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
