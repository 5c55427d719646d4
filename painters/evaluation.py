"""The fidelity figure of a neural painter, measured against the real brush.

The real brush is random given the action (texture), so a painter's error alone says little.
Render the same fresh random actions twice with independent texture seeds: the MSE between the
two renders (composited on white) is the **noise floor**, what no painter can predict. The
painter's error is its MSE to one of the renders; **ratio = error / floor**. A perfect predictor
of the expected stroke scores 0.5 (its error is half the floor), copying another real render
scores 1.0, and drawing nothing scores about 35.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from painters import actions as A
from painters.compositing import to_uint8
from painters.io import atomic_write, atomic_write_text
from painters.seeding import mix_seed


def composite_on_white(strokes: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Strokes alone on white → float (N, 3, H, W) in [0, 1].

    Accepts uint8 (N, H, W, 4) from a renderer or float (N, 4, H, W) in [0, 1] from a painter.
    """
    if isinstance(strokes, np.ndarray):
        if strokes.dtype != np.uint8 or strokes.ndim != 4 or strokes.shape[-1] != 4:
            raise ValueError(
                f"numpy strokes must be uint8 (N, H, W, 4), got {strokes.dtype} {strokes.shape}"
            )
        s = torch.from_numpy(np.ascontiguousarray(strokes)).permute(0, 3, 1, 2).float() / 255.0
    else:
        s = strokes.detach().float().cpu()
        if s.ndim != 4 or s.shape[1] != 4:
            raise ValueError(f"torch strokes must be (N, 4, H, W), got {tuple(s.shape)}")
    alpha = s[:, 3:4]
    return s[:, :3] * alpha + (1.0 - alpha)


def painter_strokes(
    painter: torch.nn.Module, actions, batch_size: int = 256, **kwargs: Any
) -> torch.Tensor:
    """The painter's strokes for ``actions`` (N, 12) as float (N, 4, H, W) on the CPU.

    ``kwargs`` go to the painter (``sample=False``, ``generator=`` for stochastic painters).
    """
    a = torch.from_numpy(A.validate_actions(actions))
    param = next(iter(painter.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = painter.training
    painter.eval()
    try:
        with torch.no_grad():
            outs = [painter(a[i : i + batch_size].to(device), **kwargs).float().cpu() for i in range(0, len(a), batch_size)]  # fmt: skip
    finally:
        painter.train(was_training)
    return torch.cat(outs)


def _alpha(strokes: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Alpha (N, 1, H, W) float of uint8 (N, H, W, 4) or float (N, 4, H, W) strokes."""
    if isinstance(strokes, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(strokes[..., 3])).float()[:, None] / 255.0
    return strokes.detach().float().cpu()[:, 3:4]


def texture_energy(strokes: np.ndarray | torch.Tensor) -> float:
    """Mean squared Laplacian of the strokes' alpha: how much high-frequency texture they have.

    The real brush's strokes are speckled, a mean predictor's are smooth; the ratio of this
    number to the real brush's is the texture ratio (1.0 = as textured as the brush).
    """
    from painters.models.textured import laplacian

    return float(laplacian(_alpha(strokes)).pow(2).mean())


class _TwoSampleCNN(torch.nn.Module):
    """Small classifier on (alpha, Laplacian of alpha[, high-pass of alpha]): real or not."""

    def __init__(self, highpass: bool = False) -> None:
        super().__init__()
        nn = torch.nn
        self.highpass = highpass
        # the first layer sees 4×4 pixel neighbourhoods at stride 2: cheap, and the Laplacian
        # channel carries the pixel-level texture into it
        self.net = nn.Sequential(
            nn.Conv2d(3 if highpass else 2, 16, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
        )  # fmt: skip
        self.fc = nn.Linear(128, 1)

    def forward(self, alpha: torch.Tensor) -> torch.Tensor:
        from painters.models.textured import highpass, laplacian

        planes = [alpha, 4.0 * laplacian(alpha)]
        if self.highpass:  # alpha minus its 3×3 mean: the grain at 2–3 px periods
            planes.append(4.0 * highpass(alpha))
        h = self.net(torch.cat(planes, 1))
        return self.fc(torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)).squeeze(1)


#: The strict two-sample test: trained to convergence (30 epochs, cosine learning rate), a
#: high-pass input and an ensemble of 3 classifiers. (Flips and transposes as augmentation made
#: the classifier weaker on the GAN, 0.74 against 0.86: the brush's texture is not isotropic.)
STRICT_TWO_SAMPLE: dict[str, Any] = {
    "epochs": 30,
    "ensemble": 3,
    "highpass": True,
    "augment": False,
    "cosine": True,
    "quantize": True,
}


def two_sample_accuracy(
    real: np.ndarray | torch.Tensor,
    fake: np.ndarray | torch.Tensor,
    *,
    seed: int = 0,
    epochs: int = 6,
    test_fraction: float = 0.2,
    batch_size: int = 64,
    ensemble: int = 1,
    highpass: bool = False,
    augment: bool = False,
    cosine: bool = False,
    quantize: bool = False,
) -> float:
    """Held-out accuracy of a small CNN trained to tell ``real`` strokes from ``fake`` ones.

    ``real`` and ``fake`` are strokes of the same N actions (row i of each draws action i). The
    actions are split into train and test sets, so the classifier is scored on actions it has
    not seen; it sees alpha and its Laplacian (where texture lives). 0.5 means it cannot tell
    them apart; a smooth mean predictor scores ~0.99, a second real render ~0.5.

    The defaults are the quick test. ``**STRICT_TWO_SAMPLE`` is the strict one: ``epochs``
    with a ``cosine`` learning rate to convergence, ``augment`` (random flips and transposes of
    each batch, the same for both classes), ``highpass`` (a third input plane), an
    ``ensemble`` of classifiers with different initial weights whose logits are averaged, and
    ``quantize`` (both classes rounded to 8-bit alpha, as every image on disk is, so the
    classifier cannot tell a float stroke by its values alone).
    """
    out = two_sample_scores(
        real, fake, seed=seed, epochs=epochs, test_fraction=test_fraction,
        batch_size=batch_size, ensemble=ensemble, highpass=highpass, augment=augment,
        cosine=cosine, quantize=quantize,
    )  # fmt: skip
    return scores_accuracy(out)


def scores_accuracy(scores: dict[str, torch.Tensor]) -> float:
    """The share of :func:`two_sample_scores`' held-out strokes its classifier got right."""
    return float(((scores["logits"] > 0).float() == scores["labels"]).float().mean())


def two_sample_scores(
    real: np.ndarray | torch.Tensor,
    fake: np.ndarray | torch.Tensor,
    *,
    seed: int = 0,
    epochs: int = 6,
    test_fraction: float = 0.2,
    batch_size: int = 64,
    ensemble: int = 1,
    highpass: bool = False,
    augment: bool = False,
    cosine: bool = False,
    quantize: bool = False,
) -> dict[str, torch.Tensor]:
    """:func:`two_sample_accuracy`'s classifier scores on the held-out strokes, to see *which*
    strokes it tells apart: ``test`` (the held-out action indices, M), ``logits`` (2M: the
    real strokes of those actions, then the fake ones; > 0 means "real") and ``labels`` (2M:
    1 real, 0 fake). Same arguments and the same result as :func:`two_sample_accuracy`.
    """
    r, f = _alpha(real), _alpha(fake)
    if r.shape != f.shape or len(r) < 10:
        raise ValueError(f"need matching real and fake strokes (≥ 10), got {r.shape} and {f.shape}")
    if quantize:
        r, f = (x.clamp(0, 1).mul(255).round().div(255) for x in (r, f))
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(r), generator=gen)
    n_test = max(1, int(round(test_fraction * len(r))))
    test, train = perm[:n_test], perm[n_test:]
    x_train = torch.cat([r[train], f[train]])
    y_train = torch.cat([torch.ones(len(train)), torch.zeros(len(train))])
    x_test = torch.cat([r[test], f[test]])
    y_test = torch.cat([torch.ones(len(test)), torch.zeros(len(test))])
    logits = torch.zeros(len(x_test))
    with torch.random.fork_rng():
        for member in range(ensemble):
            torch.manual_seed(seed if member == 0 else mix_seed(seed, member))
            model = _TwoSampleCNN(highpass)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            per_epoch = (len(x_train) + batch_size - 1) // batch_size
            step = 0
            for _ in range(epochs):
                order = torch.randperm(len(x_train), generator=gen)
                for i in range(0, len(order), batch_size):
                    idx = order[i : i + batch_size]
                    x = x_train[idx]
                    if augment:
                        flips = torch.rand(3, generator=gen) < 0.5
                        x = x.flip(3) if flips[0] else x
                        x = x.flip(2) if flips[1] else x
                        x = x.transpose(2, 3) if flips[2] else x
                    if cosine:
                        lr = 0.5e-3 * (1 + math.cos(math.pi * step / (epochs * per_epoch)))
                        opt.param_groups[0]["lr"] = lr
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(
                        model(x), y_train[idx]
                    )
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    step += 1
            model.eval()
            with torch.no_grad():
                logits += torch.cat(
                    [model(x_test[i : i + 256]) for i in range(0, len(x_test), 256)]
                )
    return {"test": test, "logits": logits, "labels": y_test}


def accuracy_by_quantile(
    scores: dict[str, torch.Tensor], values, bins: int = 4
) -> list[dict[str, float]]:
    """Held-out accuracy of :func:`two_sample_scores` split by a per-action value (e.g. the
    stroke size, ``actions[:, SIZE]``) into ``bins`` groups of equal count: where the classifier
    tells the painter from the brush. Each group: ``lo``, ``hi`` (its range of the value),
    ``accuracy`` (its real and fake strokes together) and ``fake_caught`` (the share of its
    fake strokes called fake). Measured this way the bundled GAN's tell is its biggest strokes
    (see its model card)."""
    v = torch.as_tensor(np.asarray(values, dtype=np.float32))[scores["test"]]
    if bins < 1 or len(v) < bins:
        raise ValueError(f"bins must be between 1 and the {len(v)} held-out strokes, got {bins}")
    m = len(v)
    correct = ((scores["logits"] > 0).float() == scores["labels"]).float()
    order = torch.argsort(v, stable=True)
    out = []
    for group in torch.tensor_split(order, bins):
        out.append(
            {
                "lo": float(v[group].min()),
                "hi": float(v[group].max()),
                "accuracy": float(torch.cat([correct[group], correct[m + group]]).mean()),
                "fake_caught": float(correct[m + group].mean()),
            }
        )
    return out


def painter_speed(
    painter: torch.nn.Module, batch_size: int = 256, repeats: int = 5, seed: int = 0
) -> float:
    """Strokes per second the painter draws at ``batch_size`` (no gradients; best of
    ``repeats`` timed calls after one warm-up, since other jobs share the CPU)."""
    import time

    a = torch.from_numpy(A.random_actions(batch_size, rng=np.random.default_rng(seed)))
    was_training = painter.training
    painter.eval()
    best = float("inf")
    try:
        with torch.no_grad():
            painter(a)
            for _ in range(repeats):
                t = time.perf_counter()
                painter(a)
                best = min(best, time.perf_counter() - t)
    finally:
        painter.train(was_training)
    return batch_size / best


def fidelity(
    painter: torch.nn.Module,
    actions,
    real_a: np.ndarray | torch.Tensor,
    real_b: np.ndarray | torch.Tensor,
) -> dict[str, Any]:
    """Fidelity of ``painter`` on ``actions`` (N, 12) against two real renders of them.

    ``real_a`` / ``real_b``: the same actions rendered with two texture seeds (uint8
    (N, H, W, 4) or float (N, 4, H, W)). Returns ``error`` (painter vs A), ``floor`` (A vs B),
    ``ratio`` = error / floor, and ``n``.
    """
    a = A.validate_actions(actions)
    return fidelity_of_strokes(painter_strokes(painter, a), a, real_a, real_b)


def fidelity_of_strokes(
    strokes: torch.Tensor,
    actions,
    real_a: np.ndarray | torch.Tensor,
    real_b: np.ndarray | torch.Tensor,
    *,
    allow_zero_floor: bool = False,
) -> dict[str, Any]:
    """:func:`fidelity` of strokes already drawn (float (N, 4, H, W)) for ``actions``.

    Also returns ``relative_error`` = error ÷ the MSE of drawing nothing (white): the share of
    the strokes the painter misses, defined for any brush. A brush without texture (for
    example ``classic/pen``) renders the same stroke for every seed, so its floor is 0: with
    ``allow_zero_floor`` the ``ratio`` is then None (else a ``ValueError``)."""
    a = A.validate_actions(actions)
    wa, wb = composite_on_white(real_a), composite_on_white(real_b)
    if wa.shape != wb.shape or len(wa) != len(a) or len(strokes) != len(a):
        raise ValueError(
            f"real_a {tuple(wa.shape)}, real_b {tuple(wb.shape)}, {len(strokes)} strokes and "
            f"{len(a)} actions must match"
        )
    pred = composite_on_white(strokes)
    if pred.shape != wa.shape:
        raise ValueError(f"painter draws {tuple(pred.shape)}, real strokes are {tuple(wa.shape)}")
    floor = float((wa - wb).pow(2).mean())
    error = float((pred - wa).pow(2).mean())
    blank = float((1.0 - wa).pow(2).mean())
    if floor <= 0 and not allow_zero_floor:
        raise ValueError("the two real renders are identical; render them with different seeds")
    return {
        "error": error,
        "floor": floor,
        "ratio": error / floor if floor > 0 else None,
        "relative_error": error / blank if blank > 0 else None,
        "n": len(a),
    }


def render_real_pair(
    actions, *, seed: int = 0, brush: str = "classic/dry_brush", size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Render ``actions`` with the real brush under two independent texture seeds."""
    from painters.renderers import get_renderer

    real_a = get_renderer("mypaint", size, brush=brush, seed=2 * seed + 1).render(actions)
    real_b = get_renderer("mypaint", size, brush=brush, seed=2 * seed + 2).render(actions)
    return real_a, real_b


def stroke_grid(columns: list[torch.Tensor], rows: int = 8, pad: int = 2) -> np.ndarray:
    """uint8 HWC image: one column per float (N, 3, H, W) batch, one row per stroke, grey gaps."""
    n = min(rows, *(len(c) for c in columns))
    h, w = columns[0].shape[-2:]
    img = np.full((n * (h + pad) + pad, len(columns) * (w + pad) + pad, 3), 128, np.uint8)
    for j, col in enumerate(columns):
        tiles = to_uint8(col[:n])
        for i in range(n):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            img[y : y + h, x : x + w] = tiles[i]
    return img


def save_png(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a uint8 HWC image as PNG atomically."""
    from PIL import Image

    return atomic_write(path, lambda f: Image.fromarray(image).save(f, format="PNG"))


def save_json(obj: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``obj`` as JSON atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2))


#: The real renders of the last (strokes, seed, brush) evaluated: reused by the next painter.
_REAL_PAIRS: dict[tuple[int, int, str], tuple[np.ndarray, np.ndarray]] = {}
#: Two-sample accuracy of a second real render, per (strokes, seed, brush): computed once.
_REAL_B_ACCURACY: dict[tuple, float] = {}


def evaluate_painter(
    painter: torch.nn.Module,
    num_strokes: int = 1500,
    *,
    seed: int = 0,
    brush: str = "classic/dry_brush",
    out_grid: str | os.PathLike | None = None,
    grid_rows: int = 8,
    realism: bool = False,
    speed: bool = False,
    strict: bool = False,
) -> dict[str, Any]:
    """Fresh uniform random actions (from ``seed``), two real renders, :func:`fidelity`; and
    optionally the grid real A | real B | painter (| its deterministic estimate) to ``out_grid``.

    For a stochastic painter (``painter.stochastic``) ``ratio`` scores its samples (drawn from a
    generator seeded by ``seed``) and ``ratio_deterministic`` its ``sample=False`` estimate.
    ``realism`` adds the texture ratio (:func:`texture_energy` ÷ the real brush's) and the
    two-sample CNN accuracy (:func:`two_sample_accuracy`, real A vs the painter; and real A vs
    real B as the reference); ``strict`` adds the same with the strict test
    (``two_sample_accuracy_strict``, :data:`STRICT_TWO_SAMPLE`; minutes of CPU) and its
    accuracy by stroke-size quartile (``two_sample_strict_by_size``,
    :func:`accuracy_by_quantile`); ``speed`` adds strokes/s at batch 256
    (:func:`painter_speed`).
    """
    if num_strokes < 1:
        raise ValueError(f"--num-strokes must be at least 1, got {num_strokes}")
    actions = A.random_actions(num_strokes, rng=np.random.default_rng([seed, 7]))
    key = (num_strokes, seed, brush)
    if key not in _REAL_PAIRS:  # several painters in one run share the real renders
        _REAL_PAIRS.clear()
        _REAL_PAIRS[key] = render_real_pair(actions, seed=seed, brush=brush)
    real_a, real_b = _REAL_PAIRS[key]
    stochastic = bool(getattr(painter, "stochastic", False))
    kw: dict[str, Any] = {}
    if stochastic:
        kw["generator"] = torch.Generator().manual_seed(seed)
    pred = painter_strokes(painter, actions, **kw)
    result = fidelity_of_strokes(pred, actions, real_a, real_b, allow_zero_floor=True)
    det = None
    if stochastic:
        det = painter_strokes(painter, actions, sample=False)
        result["ratio_deterministic"] = fidelity_of_strokes(
            det, actions, real_a, real_b, allow_zero_floor=True
        )["ratio"]
    result.update(seed=seed, brush=brush, stochastic=stochastic)
    if realism:
        real_tex = texture_energy(real_a)
        result["texture"] = texture_energy(pred) / real_tex
        result["texture_real_b"] = texture_energy(real_b) / real_tex
        if det is not None:
            result["texture_deterministic"] = texture_energy(det) / real_tex
        result["two_sample_accuracy"] = two_sample_accuracy(real_a, pred, seed=seed)
        key = (num_strokes, seed, brush)  # the reference is the same for every painter
        if key not in _REAL_B_ACCURACY:
            _REAL_B_ACCURACY[key] = two_sample_accuracy(real_a, real_b, seed=seed)
        result["two_sample_accuracy_real_b"] = _REAL_B_ACCURACY[key]
    if strict:
        scores = two_sample_scores(real_a, pred, seed=seed, **STRICT_TWO_SAMPLE)
        result["two_sample_accuracy_strict"] = scores_accuracy(scores)
        result["two_sample_strict_by_size"] = accuracy_by_quantile(scores, actions[:, A.SIZE])
        key = (num_strokes, seed, brush, "strict")
        if key not in _REAL_B_ACCURACY:
            _REAL_B_ACCURACY[key] = two_sample_accuracy(
                real_a, real_b, seed=seed, **STRICT_TWO_SAMPLE
            )
        result["two_sample_accuracy_strict_real_b"] = _REAL_B_ACCURACY[key]
    if speed:
        result["strokes_per_s"] = painter_speed(painter)
    if out_grid is not None:
        cols = [composite_on_white(real_a[:grid_rows]), composite_on_white(real_b[:grid_rows])]
        cols.append(composite_on_white(pred[:grid_rows]))
        if det is not None:
            cols.append(composite_on_white(det[:grid_rows]))
        save_png(stroke_grid(cols, rows=grid_rows), out_grid)
        result["grid"] = str(out_grid)
    return result
