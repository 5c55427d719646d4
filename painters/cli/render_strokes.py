"""Re-render saved strokes (strokes.npz or strokes.json) at any size with any renderer or brush.

    neural-paint-render-strokes out/strokes.npz --width 768 --height 512 --renderer mypaint \\
        --out out/painting_768.png
    neural-paint-render-strokes out/strokes.json --size 1024 --brush classic/pencil \\
        --out out/pencil.png --gif out/pencil.gif

Size: ``--width`` and ``--height`` as given; one of them, or ``--size`` (the longer side), keeps
the painting's aspect ratio; nothing: the longer side is 512. Exit code 2 on bad input.
The logic lives in :func:`painters.render`.
"""

from __future__ import annotations

import sys
import time

from painters.cli import fail, first_line, guarded, parser

PROG = "render_strokes.py"


@guarded(PROG)
def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("strokes", help="strokes.npz or strokes.json of a painting")
    p.add_argument("--size", type=int, default=None, help="longer side in px (keeps the aspect)")
    p.add_argument("--width", type=int, default=None, help="width in px")
    p.add_argument("--height", type=int, default=None, help="height in px")
    p.add_argument(
        "--renderer",
        default="mypaint",
        choices=("mypaint", "simple", "neural", "default", "gan", "vae", "supervised"),
        help="the real MyPaint brush, simple discs, the neural painter (--painter), or a "
        "bundled painter by name (gan and vae draw stroke i's texture from (--seed, i))",
    )
    p.add_argument("--brush", default=None, help="MyPaint brush (None: the painting's)")
    p.add_argument("--painter", default="default", help="neural painter: 'default' or a folder")
    p.add_argument("--seed", type=int, default=0, help="brush texture seed")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--gif", default=None, help="also write a GIF of the painting appearing")
    p.add_argument("--device", default="cpu", help="device of the neural painter")
    a = p.parse_args(argv)
    for name in ("size", "width", "height"):
        v = getattr(a, name)
        if v is not None and not 1 <= v <= 16384:
            p.error(f"--{name} must be between 1 and 16384 px, got {v}")
    if not a.out.lower().endswith(".png"):
        p.error(f"--out must be a .png file, got {a.out}")
    if a.gif is not None and not a.gif.lower().endswith(".gif"):
        p.error(f"--gif must be a .gif file, got {a.gif}")

    from painters.images import save_png
    from painters.painting import load_strokes
    from painters.renderers.mypaint import MyPaintUnavailable
    from painters.rendering import render

    t0 = time.perf_counter()
    try:
        painting = load_strokes(a.strokes)
        width, height = painting.output_size(a.size, a.width, a.height)
        renderer = a.renderer if a.renderer != "neural" or a.painter == "default" else a.painter
        image = render(
            painting,
            renderer,
            width=width,
            height=height,
            brush=a.brush,
            seed=a.seed,
            gif_path=a.gif,
            device=a.device,
        )
        save_png(image, a.out)
    except (ValueError, FileNotFoundError, MyPaintUnavailable, OSError) as e:
        return fail(PROG, first_line(e))
    dt = time.perf_counter() - t0
    extra = f" and {a.gif}" if a.gif else ""
    print(
        f"{len(painting)} strokes ({a.renderer}) -> {a.out} ({width}x{height}){extra} in {dt:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
