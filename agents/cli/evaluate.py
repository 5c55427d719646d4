"""Compare ways of painting on the same images and stroke budget: one table, one plot.

    neural-paint-evaluate --methods random,gradient,agent:default \\
        --images benchmarks/images --strokes 40 --json out/eval.json \\
        --markdown out/eval.md --plot out/eval.png --grid out/grid.png

Methods: ``random``, ``gradient`` (agents.gradient), ``agent:PATH`` (a trained agent folder or
.zip; ``agent:default`` for the bundled one). Every painting is scored in Painting-v0 (64 px,
neural renderer): MSE, SSIM, share of the white canvas's MSE removed, seconds per image.
"""

from __future__ import annotations

import sys

import torch

from agents.cli.paint import MAX_STROKES
from agents.evaluation import (
    evaluate,
    list_images,
    picture_grid,
    plot_curves,
    save_json,
    to_markdown,
    write_atomic,
)
from painters.cli import fail, first_line, guarded, parser
from painters.limits import whole_number


@guarded("evaluate")
def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--methods", required=True, help="comma-separated: random,gradient,agent:PATH")
    p.add_argument("--images", required=True, help="folder of .jpg/.png targets")
    p.add_argument("--strokes", type=int, required=True, help="stroke budget per image")
    p.add_argument("--json", required=True, help="where to write the JSON results")
    p.add_argument("--markdown", default=None, help="where to write the markdown table")
    p.add_argument("--plot", default=None, help="PNG of MSE versus strokes per method")
    p.add_argument("--grid", default=None, help="PNG of target | each method's painting")
    p.add_argument("--seed", type=int, default=0, help="same seed -> same table")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (None: torch's)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        whole_number("--strokes", args.strokes, low=1, high=MAX_STROKES, fix="use fewer strokes")
        images = list_images(args.images)
        for m in methods:  # a bad agent fails before anything is painted
            if m.startswith("agent:"):
                from agents.rl.loading import load_agent

                load_agent(m.split(":", 1)[1], device="cpu")
        runs = evaluate(
            methods, images, args.strokes, seed=args.seed, device=args.device, progress=True
        )
    except (ValueError, FileNotFoundError, NotADirectoryError) as e:
        return fail("evaluate", first_line(e))
    config = {"methods": methods, "images": args.images, "strokes": args.strokes, "seed": args.seed}
    save_json(runs, args.json, config)
    table = to_markdown(runs, args.strokes)
    if args.markdown:
        write_atomic(args.markdown, table)
    if args.plot:
        plot_curves(runs, args.plot)
    if args.grid:
        picture_grid(runs, args.grid)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
