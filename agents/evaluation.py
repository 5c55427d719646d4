"""One benchmark for every way of painting: random strokes, gradient painting, SB3 agents.

Why one module: the comparison is only honest if every method paints the same targets with
the same stroke budget and is scored the same way. Here every painting is (re)played through
``Painting-v0`` itself (neural renderer, 64 px, white canvas, the env's own target resize), and
scored on the env's uint8 canvas against its uint8 target: MSE on [0, 1] pixels (the headline
metric), SSIM, and the share of the white canvas's MSE removed. Gradient paintings are
optimised outside the env and then replayed stroke by stroke, which also yields their
distance-versus-strokes curve.

Method specs: ``random``, ``gradient``, ``agent:PATH`` (``agent:default`` = the bundled agent).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from painters.compositing import from_uint8
from painters.distances import mse as mse_t
from painters.distances import ssim_similarity
from painters.io import atomic_write_bytes

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
#: Plot colours per method, in order of appearance.
PALETTE = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
]


@dataclass
class Run:
    """One method on one image: final scores, the curve, and cost."""

    image: str
    method: str
    mse: float
    ssim: float
    white_mse: float
    seconds: float
    stroke_renders: int
    curve: list[tuple[int, float]] = field(default_factory=list)  # (strokes so far, MSE)
    canvas: np.ndarray | None = None
    target: np.ndarray | None = None

    @property
    def reduction(self) -> float:
        """Share of the white canvas's MSE removed (1 = perfect, 0 = no better than white)."""
        return 1.0 - self.mse / self.white_mse if self.white_mse > 0 else 0.0

    def row(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "method": self.method,
            "mse": self.mse,
            "ssim": self.ssim,
            "white_mse": self.white_mse,
            "reduction": self.reduction,
            "seconds": self.seconds,
            "stroke_renders": self.stroke_renders,
            "curve": [[int(n), float(d)] for n, d in self.curve],
        }


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The jpg/png images in ``folder`` (sorted, not recursive)."""
    p = Path(folder)
    if not p.is_dir():
        raise FileNotFoundError(f"no image folder at {p}; pass --images DIR with .jpg/.png files")
    files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no .jpg/.png images in {p}")
    return files


def _scores(canvas: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    c, t = from_uint8(canvas)[None], from_uint8(target)[None]
    return float(mse_t(c, t)[0]), float(ssim_similarity(c, t)[0])


def _mse(canvas: np.ndarray, target: np.ndarray) -> float:
    return float(mse_t(from_uint8(canvas)[None], from_uint8(target)[None])[0])


def _env(image: Path, **kwargs: Any):
    from agents.rl.training import make_env

    kwargs.setdefault("renderer", "neural")
    return make_env(target=str(image), **kwargs)


def _play(
    image: Path, strokes: int, act: Callable[[Any], np.ndarray], seed: int, **env_kwargs: Any
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, float]], float]:
    """Run an episode of ``strokes`` strokes: (target, final canvas, curve, seconds)."""
    env = _env(image, **{**env_kwargs, "max_strokes": strokes})
    k = int(env_kwargs.get("strokes_per_step", 1))
    try:
        obs, _ = env.reset(seed=seed)
        target = np.asarray(obs["target"]).copy()
        curve: list[tuple[int, float]] = [(0, _mse(np.asarray(obs["canvas"]), target))]
        elapsed = 0.0
        done = False
        while not done:
            t_act = time.perf_counter()
            obs, _, terminated, truncated, _ = env.step(act(obs))
            elapsed += time.perf_counter() - t_act
            curve.append((curve[-1][0] + k, _mse(np.asarray(obs["canvas"]), target)))
            done = terminated or truncated
        return target, np.asarray(obs["canvas"]).copy(), curve, elapsed
    finally:
        env.close()


def _replay(
    image: Path, actions: np.ndarray, seed: int
) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """Lay stroke actions in [0, 1] one by one in the env: (final canvas, curve)."""
    from painters.actions import to_env_action

    it = iter(actions)
    _, canvas, curve, _ = _play(image, len(actions), lambda _obs: to_env_action(next(it)), seed)
    return canvas, curve


def _target64(image: Path, seed: int) -> np.ndarray:
    env = _env(image, max_strokes=1)
    try:
        obs, _ = env.reset(seed=seed)
        return np.asarray(obs["target"]).copy()
    finally:
        env.close()


def paint_random(image: Path, strokes: int, seed: int = 0) -> Run:
    """Uniform random strokes (the env's action space), seeded per image."""
    rng = np.random.default_rng(seed)

    def act(_obs: Any) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, 12).astype(np.float32)

    target, canvas, curve, secs = _play(image, strokes, act, seed)
    return _run(image, "random", target, canvas, curve, secs, strokes)


def paint_agent(image: Path, strokes: int, model: Any, label: str, seed: int = 0) -> Run:
    """A trained agent, deterministic, in its own env kwargs with ``max_strokes = strokes``.

    The step observation is the fraction of ``max_strokes`` painted, so an agent is at its best
    at the budget it was trained with (``model.env_kwargs["max_strokes"]``).
    """
    kw = dict(model.env_kwargs)
    k = int(kw.get("strokes_per_step", 1))
    if strokes % k:
        raise ValueError(
            f"{label} paints {k} strokes per step; choose --strokes as a multiple of {k}"
        )

    def act(obs: Any) -> np.ndarray:
        return model.predict(obs, deterministic=True)[0]

    target, canvas, curve, secs = _play(image, strokes, act, seed, **kw)
    return _run(image, label, target, canvas, curve, secs, strokes)


def gradient_available() -> bool:
    try:
        from agents.gradient import GradientConfig, paint_images  # noqa: F401
    except ImportError:
        return False
    return True


def paint_gradient(image: Path, strokes: int, seed: int = 0, painter: Any = None) -> Run:
    """Gradient painting (``agents.gradient.paint_images``, default config with ``strokes``
    strokes) on the env's 64 px target, then replayed through the env for scoring."""
    try:
        from agents.gradient import GradientConfig, paint_images, total_steps
    except ImportError as e:
        raise RuntimeError(
            f"the gradient method is not available ({e}); drop 'gradient' from --methods"
        ) from None
    from painters.loading import load_painter

    painter = painter or load_painter("default")
    target = _target64(image, seed)
    cfg = GradientConfig(strokes=strokes, seed=seed)
    t0 = time.perf_counter()
    painting = paint_images(painter, [target], cfg)[0]
    secs = time.perf_counter() - t0
    canvas, curve = _replay(image, np.clip(painting.actions, 0.0, 1.0), seed)
    renders = total_steps(cfg) * strokes // max(1, len(cfg.group_sizes())) + cfg.refine() * strokes
    return _run(image, "gradient", target, canvas, curve, secs, int(renders))


def _run(image, method, target, canvas, curve, secs, renders) -> Run:
    m, s = _scores(canvas, target)
    white = np.full_like(target, 255)
    return Run(
        image=Path(image).name,
        method=method,
        mse=m,
        ssim=s,
        white_mse=_mse(white, target),
        seconds=secs,
        stroke_renders=renders,
        curve=curve,
        canvas=canvas,
        target=target,
    )


def evaluate(
    methods: Sequence[str],
    images: Sequence[str | os.PathLike],
    strokes: int,
    *,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
) -> list[Run]:
    """Paint every image with every method; returns one :class:`Run` per (image, method)."""
    if strokes < 1:
        raise ValueError(f"--strokes must be at least 1, got {strokes}")
    painters_for: dict[str, Callable[[Path], Run]] = {}
    for spec in methods:
        spec = spec.strip()
        if spec == "random":
            painters_for[spec] = lambda im: paint_random(im, strokes, seed)
        elif spec == "gradient":
            if not gradient_available():
                raise RuntimeError("the gradient method is not available (agents.gradient missing)")
            painters_for[spec] = lambda im: paint_gradient(im, strokes, seed)
        elif spec.startswith("agent:"):
            from agents.rl.loading import load_agent

            path = spec.split(":", 1)[1] or "default"
            model = load_agent(path, device=device)
            label = f"agent:{path}"
            painters_for[label] = lambda im, m=model, lb=label: paint_agent(
                im, strokes, m, lb, seed
            )
        else:
            raise ValueError(f"unknown method {spec!r}; use random, gradient or agent:PATH")
    runs: list[Run] = []
    for image in images:
        for name, fn in painters_for.items():
            if progress:
                print(f"{Path(image).name}: {name}", flush=True)
            with torch.no_grad() if name != "gradient" else _nullcontext():
                runs.append(fn(Path(image)))
    return runs


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def summarize(runs: Sequence[Run]) -> dict[str, dict[str, float]]:
    """Mean scores per method (in order of first appearance)."""
    out: dict[str, dict[str, float]] = {}
    for method in dict.fromkeys(r.method for r in runs):
        rs = [r for r in runs if r.method == method]
        out[method] = {
            "mse": float(np.mean([r.mse for r in rs])),
            "ssim": float(np.mean([r.ssim for r in rs])),
            "white_mse": float(np.mean([r.white_mse for r in rs])),
            "reduction": float(np.mean([r.reduction for r in rs])),
            "seconds": float(np.mean([r.seconds for r in rs])),
            "stroke_renders": float(np.mean([r.stroke_renders for r in rs])),
            "images": len(rs),
        }
    return out


def to_json(runs: Sequence[Run], config: dict[str, Any]) -> dict[str, Any]:
    return {"config": config, "mean": summarize(runs), "rows": [r.row() for r in runs]}


def to_markdown(runs: Sequence[Run], strokes: int) -> str:
    """One table: per-image rows, then the mean per method."""
    head = (
        f"Stroke budget: {strokes}. MSE on [0, 1] pixels (64 px, lower is better); SSIM (higher is "
        "better); removed = share of the white canvas's MSE removed.\n\n"
        "| image | method | MSE | SSIM | removed | s / image | stroke renders |\n"
        "|---|---|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r.image} | {r.method} | {r.mse:.4f} | {r.ssim:.3f} | {100 * r.reduction:.1f} % | "
        f"{r.seconds:.2f} | {r.stroke_renders} |"
        for r in runs
    ]
    for method, m in summarize(runs).items():
        lines.append(
            f"| **mean** (white {m['white_mse']:.4f}) | **{method}** | **{m['mse']:.4f}** | "
            f"**{m['ssim']:.3f}** | **{100 * m['reduction']:.1f} %** | {m['seconds']:.2f} | "
            f"{m['stroke_renders']:.0f} |"
        )
    return head + "\n".join(lines) + "\n"


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write via a temp file and ``os.replace`` so readers never see half a file."""
    atomic_write_bytes(path, data if isinstance(data, bytes) else data.encode("utf-8"))


def save_json(runs: Sequence[Run], path: str | os.PathLike, config: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(to_json(runs, config), indent=2) + "\n")


def mean_curves(runs: Sequence[Run]) -> dict[str, list[tuple[int, float]]]:
    """Per method, the MSE after n strokes averaged over images (points every method shares)."""
    out: dict[str, list[tuple[int, float]]] = {}
    for method in dict.fromkeys(r.method for r in runs):
        rs = [r for r in runs if r.method == method]
        xs = sorted(set.intersection(*(set(n for n, _ in r.curve) for r in rs)))
        out[method] = [(n, float(np.mean([dict(r.curve)[n] for r in rs]))) for n in xs]
    return out


def plot_curves(
    runs: Sequence[Run], path: str | os.PathLike, size: tuple[int, int] = (720, 440)
) -> None:
    """MSE versus strokes per method (mean over images) as a PNG, drawn with PIL (no matplotlib)."""
    from PIL import Image, ImageDraw

    curves = mean_curves(runs)
    w, h = size
    left, right, top, bottom = 70, 170, 30, 50
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    x_max = max(n for c in curves.values() for n, _ in c) or 1
    y_max = max(v for c in curves.values() for _, v in c) * 1.05 or 1.0

    def px(n: float, v: float) -> tuple[float, float]:
        return (left + (w - left - right) * n / x_max, h - bottom - (h - top - bottom) * v / y_max)

    d.line([px(0, 0), px(x_max, 0)], fill="black")
    d.line([px(0, 0), px(0, y_max)], fill="black")
    x_step = max(1, -(-x_max // 5))
    for n in range(0, x_max + 1, x_step):
        x, _ = px(n, 0)
        d.line([(x, h - bottom), (x, h - bottom + 4)], fill="black")
        d.text((x - 8, h - bottom + 8), str(n), fill="black")
    for i in range(6):
        v = y_max * i / 5
        _, y = px(0, v)
        d.line([(left - 4, y), (left, y)], fill="black")
        d.text((4, y - 6), f"{v:.3f}", fill="black")
    d.text(((w - right) // 2, h - 18), "strokes", fill="black")
    d.text((4, 6), "MSE (mean over images)", fill="black")
    for i, (method, curve) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        pts = [px(n, v) for n, v in curve]
        if len(pts) > 1:
            d.line(pts, fill=colour, width=2)
        for x, y in pts if len(pts) <= 60 else pts[:: max(1, len(pts) // 60)]:
            d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        ly = top + 18 * i
        d.line([(w - right + 10, ly + 6), (w - right + 30, ly + 6)], fill=colour, width=3)
        d.text((w - right + 36, ly), method[:22], fill="black")
    buf = _png_bytes(img)
    write_atomic(path, buf)


def picture_grid(runs: Sequence[Run], path: str | os.PathLike, scale: int = 2) -> None:
    """One row per image: target, then each method's final canvas (PNG)."""
    from PIL import Image

    images = list(dict.fromkeys(r.image for r in runs))
    methods = list(dict.fromkeys(r.method for r in runs))
    by = {(r.image, r.method): r for r in runs}
    rows = []
    for im in images:
        first = by[(im, methods[0])]
        tiles = [first.target] + [by[(im, m)].canvas for m in methods]
        gap = np.full((tiles[0].shape[0], 2, 3), 255, np.uint8)
        row = []
        for i, t in enumerate(tiles):
            row += ([gap] if i else []) + [t]
        rows.append(np.concatenate(row, axis=1))
        rows.append(np.full((2, rows[-1].shape[1], 3), 255, np.uint8))
    grid = np.concatenate(rows[:-1], axis=0).repeat(scale, 0).repeat(scale, 1)
    write_atomic(path, _png_bytes(Image.fromarray(grid)))


def _png_bytes(img: Any) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
