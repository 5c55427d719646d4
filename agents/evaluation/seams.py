"""Do tile boundaries show? The seam ratio of a tiled painting.

With ``e = painting − target`` (float RGB in [0, 1], the target resized to the painting's size),
the seam ratio is the mean ``|e[:, x] − e[:, x − 1]|`` (and ``|e[y] − e[y − 1]|`` for rows) over
the lines where tiles meet, divided by the same mean over the lines through the middle of
tiles. 1.0 means the error jumps across tile boundaries no more than anywhere else; a painting
whose tiles show (strokes cut at a tile's edge, a tile painted in another tone than its
neighbour) scores well above 1.

Tiles are the painting's 64 px working tiles (:func:`agents.gradient.tile_windows`: the
``--grid`` tiles, evenly spread and overlapping where a side is not a multiple of 64). Any other
tile layout (an agent's finer levels, say) can be measured with :func:`seam_ratio`'s ``tiles``.
A re-render at another size (``painting_real.png``) is measured on the same lines scaled to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from agents.gradient.seams import grid_tiles, seam_lines

__all__ = ["grid_tiles", "seam_lines", "seam_ratio"]


def _jumps(e: np.ndarray, cols: Sequence[int], rows: Sequence[int]) -> np.ndarray:
    parts = [np.abs(e[:, x] - e[:, x - 1]).ravel() for x in cols if 0 < x < e.shape[1]]
    parts += [np.abs(e[y] - e[y - 1]).ravel() for y in rows if 0 < y < e.shape[0]]
    return np.concatenate(parts) if parts else np.zeros(0)


def seam_ratio(
    painting: np.ndarray,
    target: np.ndarray,
    tiles: Iterable[tuple[int, int, int]] | None = None,
    *,
    size: tuple[int, int] | None = None,
) -> float:
    """Seam ratio of ``painting`` (uint8 (H, W, 3)) against ``target`` (uint8, any size; made
    the painting's size by :func:`painters.images.prepare_target`, as the painting's own target
    was).

    ``tiles``: (left, top, side) in px of a canvas of ``size`` = (width, height) (default: the
    painting's own size); default: the 64 px working tiles of that canvas
    (:func:`grid_tiles`). Lines are scaled from ``size`` to the painting, so a 512 px re-render
    of a 256 px painting is measured on the 256 px painting's tile lines. Returns ``nan`` when
    the layout has no boundary (one tile) or no middle line."""
    from painters.images import prepare_target

    img = np.asarray(painting)
    h, w = img.shape[:2]
    cw, ch = size if size is not None else (w, h)
    tiles = list(grid_tiles(cw, ch) if tiles is None else tiles)
    bx, by, mx, my = seam_lines(tiles, cw, ch)
    sx, sy = w / cw, h / ch

    def scale(lines: Sequence[int], f: float, n: int) -> list[int]:
        return sorted({min(max(1, round(v * f)), n - 1) for v in lines})

    bx, mx = scale(bx, sx, w), scale(mx, sx, w)
    by, my = scale(by, sy, h), scale(my, sy, h)
    mx, my = sorted(set(mx) - set(bx)), sorted(set(my) - set(by))
    t = np.asarray(target)
    if t.shape[:2] != (h, w):
        t = prepare_target(t, w, h)
    e = img.astype(np.float64) / 255.0 - t.astype(np.float64) / 255.0
    seam, middle = _jumps(e, bx, by), _jumps(e, mx, my)
    if seam.size == 0 or middle.size == 0:
        return float("nan")
    return float(seam.mean() / max(middle.mean(), 1e-12))
