"""Paint any image with a trained ``Painting-v0`` agent: the whole image first, then tiles of it
for detail (Learning to Paint's "divide"), in the gradient painter's representation.

Why this shape: an agent paints a ``size`` px square canvas in ``max_strokes`` strokes, which is
far too few strokes and pixels for a photo. Like Learning to Paint (Huang et al. 2019), the same
agent paints the image in levels: level ``d`` cuts the painting into tiles of ``64 / d`` px
(``d`` = 1: the painter's 64 px windows, which for a square image at ``grid=1`` is the whole
image), crops the current painting and the target to each tile, resizes both to the agent's
canvas and lets the agent paint on that crop; its strokes (fractions of the tile) are mapped
back onto the painting. All tiles of a level are one batch: one policy forward pass and one
painter call per step, whatever the number of tiles.

Representation. Every stroke is stored the way :func:`agents.gradient.paint_images` stores
its strokes: a 12-number action local to a 64 px window of the painting (``local_actions``,
``windows``) and the same action in global coordinates (``actions``: x, y fractions of the
painting's width and height), with ``stroke_scale = 64 / min(W, H)``. A stroke painted in a
tile of side ``T`` px is drawn in the 64 px window around that tile, its points mapped affinely
and its size shifted by ``0.5·ln(T / 64)`` (the radius law ``exp(2·size)`` × side / 64), clipped
to the painter's range [0, 1]. The painting canvas (``canvas``, painting.png) is rendered
stroke by stroke exactly as :func:`painters.replaying.replay_windows` replays the saved
strokes, and the agent observes that canvas, so what is saved is exactly what the agent saw.
Levels are therefore tiles of at most 64 px: for a non-square image the first level is the
gradient painter's row of overlapping 64 px tiles along the longer side (see
:func:`agents.gradient.tile_windows`) instead of one squashed pass, which the 64 px stroke
windows could not store. The stroke order is: level by level, step by step, tile by tile.

Seams. A painting of several 64 px working tiles ends with ``SEAM_SHARE`` (a tenth) of its
strokes laid by gradient descent over the lines where the tiles meet
(:func:`agents.gradient.seams.paint_seams`): the agent's tiles are painted on their own and
would show otherwise (``docs/SEAMS.md``). Last, every stroke's colour is fitted to the target over
the whole canvas by least squares (:mod:`agents.painting.colours`: with the shapes fixed the canvas
is linear in the colours), with a penalty on the error's jump across tile boundaries: about 0.75×
the MSE for half a CPU second. :func:`paint_levels` is the agent's painting alone.

Budget. ``strokes`` is the total; :data:`DEFAULT_SHARES` splits it across the levels (chosen by
measurement, see ``benchmarks/bench_agent_paint.py``), and within a level tiles get strokes in
proportion to the error they hold (:func:`tile_weights`, :func:`agents.gradient.allocate`), so the
painting has exactly ``strokes`` strokes for any ``strokes_per_step`` (the last step of a tile
keeps only the strokes it still has budget for).

Usage::

    import agents, painters
    from agents.painting import (paint_with_agent, paint_with_agent_and_gradient,
                                 write_painting_outputs)
    from agents.gradient import GradientConfig
    from painters.images import load_image

    model = agents.load_agent("default")          # any SB3 agent with model.env_kwargs
    image = load_image("photo.jpg")                # uint8 (H, W, 3), any size and aspect ratio
    painting = paint_with_agent(image, model, strokes=256)        # painting.canvas: (64, 96, 3)
    write_painting_outputs("out/agent", painting, painters.load_painter("default"))

    # agent + gradient: the agent paints (here planning 20 steps a step), then gradient
    # descent refines all its strokes jointly on the whole canvas; with several brushes each
    # stroke picks its brush
    mixed = painters.load_painters(["classic/dry_brush", "classic/pen"])
    painting = paint_with_agent_and_gradient(image, model, 200, plan_steps=20, painter=mixed)
    # above REFINE_LIMIT stroke-pixels: the gradient painter with the agent proposing each
    # group's first strokes (the paint_images init_fn hook):
    painting = paint_with_agent_and_gradient(image, model, 2000, grid=4, mode="init",
                                             config=GradientConfig(steps=15))

Signatures (stable; ``scripts/paint.py --method agent|agent+gradient`` calls them)::

    paint_with_agent(image, model, strokes, size=None, *, grid=1, levels=None, shares=None,
                     painter=None, device="cpu", seed=0, callback=None, seam_share=None,
                     seam_steps=20) -> Painting
    paint_with_agent_and_gradient(image, model, strokes, *, grid=1, steps=120, lr=0.05,
                                  mode="auto", config=None, levels=None, shares=None,
                                  painter=None, device="cpu", loss_fn=None, real_seed=None,
                                  callback=None, plan_steps=0) -> Painting
    refine_painting(painting, target, painter, *, steps=120, lr=0.05, loss_fn=None,
                    callback=None, real_seed=None, config=None) -> Painting
    agent_init_fn(model, painter) -> init_fn(canvas, target, n, size, generator) -> (B, n, 12)
    write_painting_outputs(folder, painting, painter, *, brush=..., render_size=512, seed=0,
                           info=None) -> list[Path]

``Painting`` is the gradient painter's result type (``agents.gradient.Painting``, i.e.
:class:`painters.painting.Painting`: ``actions``, ``local_actions``, ``windows``, ``width``,
``height``, ``canvas``, ``stroke_scale``, ``background``, ``info``, ``history``), so everything
that writes a gradient painting writes an agent painting.

Measured (12 validation photos, 256 strokes, 64 px shorter side; ratio = MSE / MSE of a
16 x 16 flat-colour grid at the painting's size; see ``benchmarks/bench_agent_paint.py``): the
shipped ``default`` agent is far from the target (its strokes are mostly saturated, huge
washes); a model-based agent part-way through training reaches ~1.4. Painting takes ~0.2 s CPU;
the outputs (512 px real-brush re-render, GIF) ~1-2.5 s; ``scripts/paint.py --method agent``
~6-7 s CPU in all, of which ~1.5 s is ``torch._dynamo``, imported by the Adam optimisers that
SB3 builds when ``load_agent`` loads a model (unused for painting).
"""

from __future__ import annotations

# The code lives in modules split by concern (levels, refine, outputs); the public names are here.
from agents.painting.levels import (
    DEFAULT_LEVELS,
    DEFAULT_SHARES,
    TILE,
    AgentView,
    Callback,
    InitFn,
    level_tiles,
    paint_levels,
    paint_with_agent,
    split_budget,
    tile_to_window,
    tile_weights,
    tile_window,
)
from agents.painting.outputs import write_painting_outputs
from agents.painting.refine import (
    REFINE_LIMIT,
    REFINE_LR,
    REFINE_STEPS,
    agent_init_fn,
    paint_with_agent_and_gradient,
    refine_painting,
)

__all__ = [
    "DEFAULT_LEVELS",
    "DEFAULT_SHARES",
    "REFINE_LIMIT",
    "REFINE_LR",
    "REFINE_STEPS",
    "TILE",
    "AgentView",
    "Callback",
    "InitFn",
    "agent_init_fn",
    "level_tiles",
    "paint_levels",
    "paint_with_agent",
    "paint_with_agent_and_gradient",
    "refine_painting",
    "split_budget",
    "tile_to_window",
    "tile_weights",
    "tile_window",
    "write_painting_outputs",
]
