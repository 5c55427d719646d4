"""Build docs/gallery.png: one row per painting, target | neural canvas | real brush.

    python docs/make_gallery.py out/gallery/coffee out/gallery/chelsea out/gallery/astronaut \\
        --images painting_env/samples/coffee.jpg painting_env/samples/chelsea.jpg \\
        painting_env/samples/astronaut.jpg --out docs/gallery.png

Each folder is a ``scripts/paint.py`` output. Rows are 200 px high, each image keeps its aspect
ratio; the PNG is palette-quantised so the file stays small for the README.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

ROW = 200
GAP = 6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+")
    p.add_argument("--images", nargs="+", required=True)
    p.add_argument("--out", default="docs/gallery.png")
    a = p.parse_args()
    if len(a.images) != len(a.folders):
        p.error("give one --images entry per folder")
    rows = []
    for folder, image in zip(a.folders, a.images, strict=True):
        neural = Image.open(Path(folder) / "painting.png").convert("RGB")
        w = round(ROW * neural.width / neural.height)
        cells = [
            Image.open(image).convert("RGB").resize((w, ROW), Image.Resampling.LANCZOS),
            neural.resize((w, ROW), Image.Resampling.NEAREST),
            Image.open(Path(folder) / "painting_real.png")
            .convert("RGB")
            .resize((w, ROW), Image.Resampling.LANCZOS),
        ]
        rows.append(cells)
    width = max(3 * r[0].width + 2 * GAP for r in rows)
    header = 22
    sheet = Image.new("RGB", (width, header + len(rows) * (ROW + GAP) - GAP), "white")
    draw = ImageDraw.Draw(sheet)
    col = rows[0][0].width
    for i, name in enumerate(("target", "neural painter", "real brush (MyPaint)")):
        draw.text((i * (col + GAP) + 4, 5), name, fill="black")
    for r, cells in enumerate(rows):
        for c, im in enumerate(cells):
            x = c * (cells[0].width + GAP) + (width - 3 * cells[0].width - 2 * GAP) // 2
            sheet.paste(im, (x, header + r * (ROW + GAP)))
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        a.out, optimize=True
    )
    print(f"{a.out}: {sheet.width}x{sheet.height}, {Path(a.out).stat().st_size // 1024} kB")


if __name__ == "__main__":
    main()
