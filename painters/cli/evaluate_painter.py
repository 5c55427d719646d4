"""Fidelity and realism of neural painters against the real brush.

    neural-paint-evaluate-painter --painter default --num-strokes 1500 --out-grid out/grid.png
    neural-paint-evaluate-painter --painter default gan vae supervised --realism --speed

Renders N fresh uniform random actions twice with the real brush under independent texture
seeds; ratio = painter's MSE to one render ÷ MSE between the two (on white): 0.5 is a perfect
mean predictor, 1.0 a perfect sampler. For stochastic painters (GAN, VAE) ``ratio`` scores a
sample and ``ratio_deterministic`` the ``sample=False`` estimate. ``--realism`` adds the
texture ratio (Laplacian energy of alpha ÷ the real brush's) and a two-sample test (held-out
accuracy of a small CNN trained to tell real strokes from the painter's; 0.5 =
indistinguishable; a second real render is scored too, as the reference); ``--speed`` adds
strokes/s at batch 256. ``--strict`` adds the strict two-sample test: an ensemble of three
such classifiers trained to convergence on 8-bit alpha with a high-pass input (minutes of
CPU; a second real render is its calibration).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import torch

from painters.cli import first_line, guarded, parser
from painters.evaluation import evaluate_painter, save_json
from painters.loading import load_painter


def summary_line(name: str, res: dict[str, Any]) -> str:
    """One human-readable line per painter."""
    ratio = "n/a (brush without texture)" if res["ratio"] is None else f"{res['ratio']:.3f}"
    parts = [f"{name} ({res['kind']}): error {res['error']:.5f}  ratio {ratio}"]
    if res.get("relative_error") is not None:
        parts.append(f"relative error {res['relative_error']:.3f}")
    if res.get("ratio_deterministic") is not None:
        parts.append(f"sample=False {res['ratio_deterministic']:.3f}")
    if "texture" in res:
        parts.append(f"texture {res['texture']:.2f}")
        parts.append(
            f"two-sample acc {res['two_sample_accuracy']:.3f} "
            f"(real B: {res['two_sample_accuracy_real_b']:.3f})"
        )
    if "two_sample_accuracy_strict" in res:
        parts.append(
            f"strict two-sample acc {res['two_sample_accuracy_strict']:.3f} "
            f"(real B: {res['two_sample_accuracy_strict_real_b']:.3f}; by size quartile "
            + " ".join(f"{g['accuracy']:.2f}" for g in res.get("two_sample_strict_by_size", []))
            + ")"
        )
    if "strokes_per_s" in res:
        parts.append(f"{res['strokes_per_s']:.0f} strokes/s")
    parts.append(f"floor {res['floor']:.5f}  on {res['n']} strokes")
    return "  ".join(parts)


@guarded("evaluate_painter")
def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument(
        "--painter",
        nargs="+",
        default=["default"],
        help="bundled names (default, gan, vae, supervised, pen, pencil, charcoal), brush "
        "names with a bundled painter (classic/pen) or checkpoint folders",
    )
    p.add_argument(
        "--num-strokes", type=int, default=1500, help="random strokes rendered and compared"
    )
    p.add_argument("--seed", type=int, default=0, help="fixes the actions and brush textures")
    p.add_argument("--brush", default="classic/dry_brush", help="MyPaint brush of the real renders")
    p.add_argument("--device", default="cpu", help="device of the painter: cpu, cuda or auto")
    p.add_argument(
        "--out-grid", default=None, help="PNG: real A | real B | painter (one --painter only)"
    )
    p.add_argument("--realism", action="store_true", help="add texture ratio and two-sample test")
    p.add_argument(
        "--strict",
        action="store_true",
        help="add the strict two-sample test (3 classifiers trained to convergence; minutes)",
    )
    p.add_argument("--speed", action="store_true", help="add strokes/s at batch 256")
    p.add_argument("--json", default=None, help="write the result(s) here as JSON")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (None: torch's)")
    a = p.parse_args(argv)
    if a.out_grid and len(a.painter) > 1:
        p.error("--out-grid takes one --painter")
    if a.threads:
        torch.set_num_threads(a.threads)
    results = []
    for name in a.painter:
        try:
            painter = load_painter(name, a.device)
            res = evaluate_painter(
                painter,
                a.num_strokes,
                seed=a.seed,
                brush=a.brush,
                out_grid=a.out_grid,
                realism=a.realism,
                speed=a.speed,
                strict=a.strict,
            )
        except (ValueError, FileNotFoundError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        except RuntimeError as e:  # libmypaint missing: its message names the apt packages
            print(f"error: {first_line(e)}", file=sys.stderr)
            return 2
        res["painter"] = name
        res["kind"] = painter.kind
        print(summary_line(name, res), flush=True)
        results.append(res)
    out: Any = results[0] if len(results) == 1 else results
    if a.json:
        save_json(out, a.json)
    else:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
