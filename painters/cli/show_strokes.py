"""Draw the same random actions with every renderer and painter, one row each, as a PNG grid.

    neural-paint-show-strokes --out out/strokes.png --n 8 --seed 0 --painters default

Rows: ``mypaint`` (skipped with a note if libmypaint is missing), ``simple``, then each neural
painter given to ``--painters`` (a bundled name such as ``default`` or a checkpoint folder).
Each stroke is drawn alone on white at 64 px, scaled up ``--scale`` times for viewing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from painters.cli import first_line, guarded, parser
from painters.io import atomic_write


def render_rows(
    n: int, seed: int, painter_names: list[str]
) -> tuple[list[str], list[np.ndarray], list[str]]:
    """(labels, rows of uint8 (n, 64, 64, 3) strokes on white, notes about skipped rows)."""
    import torch

    import painters
    from painters.compositing import on_background, to_uint8
    from painters.renderers.mypaint import MyPaintUnavailable

    actions = painters.random_actions(n, rng=seed)
    labels, rows, notes = [], [], []
    for name in ("mypaint", "simple"):
        try:
            strokes = painters.get_renderer(name, 64, seed=seed).render(actions)
        except MyPaintUnavailable as e:
            notes.append(f"{name} row skipped: {e}")
            continue
        labels.append(name)
        rows.append(on_background(strokes))
    for p in painter_names:
        painter = painters.load_painter(p, "cpu")
        # stochastic painters (GAN, VAE) draw a sample from a generator seeded by --seed
        kw = {"generator": torch.Generator().manual_seed(seed)} if painter.stochastic else {}
        with torch.no_grad():
            s = painter(torch.from_numpy(actions), **kw)
            a = s[:, 3:4]
            rgb = s[:, :3] * a + (1.0 - a)
        labels.append(f"painter {p}")
        rows.append(np.stack([to_uint8(x) for x in rgb]))
    return labels, rows, notes


def grid_image(labels: list[str], rows: list[np.ndarray], scale: int = 2, label_w: int = 150):
    """A PIL image: a label column, then the strokes of each row, 2 px grey gutters."""
    from PIL import Image, ImageDraw

    n, side = rows[0].shape[0], rows[0].shape[1] * scale
    gap = 2
    w = label_w + n * (side + gap) + gap
    h = len(rows) * (side + gap) + gap
    img = Image.new("RGB", (w, h), (200, 200, 200))
    draw = ImageDraw.Draw(img)
    for r, (label, row) in enumerate(zip(labels, rows, strict=True)):
        y = gap + r * (side + gap)
        draw.text((6, y + side // 2 - 6), label, fill=(0, 0, 0))
        for i, stroke in enumerate(row):
            tile = Image.fromarray(stroke).resize((side, side), Image.NEAREST)
            img.paste(tile, (label_w + gap + i * (side + gap), y))
    return img


@guarded("show_strokes.py")
def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--n", type=int, default=8, help="strokes per row")
    p.add_argument("--seed", type=int, default=0, help="fixes the actions and the texture")
    p.add_argument("--painters", default="", help="comma-separated painter names or folders")
    p.add_argument("--scale", type=int, default=2, help="pixel zoom of each 64 px stroke")
    a = p.parse_args(argv)
    if a.n < 1 or a.scale < 1 or a.seed < 0:
        p.error("--n and --scale must be at least 1 and --seed non-negative")
    if a.n > 256 or a.scale > 32:
        p.error("--n must be at most 256 and --scale at most 32 (the grid must fit in memory)")
    names = [s.strip() for s in a.painters.split(",") if s.strip()]
    try:
        labels, rows, notes = render_rows(a.n, a.seed, names)
    except (ValueError, FileNotFoundError, OSError) as e:
        print(f"show_strokes.py: error: {first_line(e)}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"show_strokes.py: {note}", file=sys.stderr)
    out = Path(a.out)
    atomic_write(out, lambda f: grid_image(labels, rows, a.scale).save(f, format="PNG"))
    print(f"wrote {out}: rows {', '.join(labels)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
