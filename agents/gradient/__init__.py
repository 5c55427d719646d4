"""Gradient painting ("intrinsic style transfer", Nakano): optimise the actions of N strokes by
gradient descent through a frozen neural painter and differentiable "over" compositing so that
the painting matches a target; the medium (brushstrokes) gives the style.

What makes it good rather than merely simple (each measured on the bundled photos):

* **Progressive groups, coarse to fine.** Strokes are added in groups; each group starts with
  large brushes and later groups get smaller ones. Earlier groups are frozen while a group is
  optimised, so a step only runs the painter on the group's strokes (the canvas beneath is a
  constant): most of the work costs ``group`` strokes, not ``N``. A short joint refinement of
  all strokes at the end lets early strokes adapt to later ones.
* **Initialisation from the target.** Each new stroke is placed where the current error is
  largest (sampled ∝ blurred squared error, seeded), gets the target's local colour, corrected
  for the brush's translucency (a stroke covers ~60 %, so the colour overshoots towards the
  target), and is oriented along the image's edges (structure tensor).
* **Learning-rate schedule.** Adam on the logits of a sigmoid parametrisation (actions stay in
  [0, 1] without clipping), cosine decay from ``lr`` to ``lr/10`` in every group.
* **Painting for the real brush.** The painter predicts a stroke's *mean* coverage; the real
  dry brush adds seeded texture, which costs the re-render MSE the painter cannot see. With
  ``real_seed`` (the seed the re-render will use) the final refinement adds the loss of a proxy
  canvas whose alphas are the real brush's (rendered at 64 px every few steps; its texture is
  nearly the same at any render size for the same seed) with the painter's gradients
  (straight-through). On the bench photos this cut real/neural MSE from ~1.6 to ~1.1-1.3.
* **Batches of images.** B targets × n strokes are one painter call per step ((B·n, 12) →
  strokes); a grid painting is just a batch of tiles, and the benchmark paints several photos at
  once.

Any canvas of at least 64 px per side is painted as 64 px tiles (the painter's windows): along
each side ``ceil(L/64)`` tiles, evenly spaced, so they overlap where the side is not a multiple of
64 (a 96 × 64 canvas has tiles at x = 0 and 32). Tiles that overlap are painted one after the
other (greedy classes of non-overlapping tiles), each on the canvas the previous ones left, so
the stored canvas is always exactly the strokes laid in order. Grids add a pass on tiles over the
seams. ``strokes`` is the total of the painting: each pass's share is split across its tiles in
proportion to the area each tile owns, weighted by the target's detail and the current error.
Every stroke is stored in global coordinates (fractions of the whole canvas) with
``stroke_scale = 64 / min(W, H)`` so the real brush re-renders the whole painting at any size.

Stroke controls: ``min_size``/``max_size`` bound the ``size`` action through the parametrisation
(size = lo + (hi − lo)·sigmoid); ``palette`` restricts colours to K given colours (softmax
mixing weights over the palette while optimising, then snapped to the strongest colour and the
geometry re-optimised with the colours fixed).

The package, one concern a module: :mod:`~agents.gradient.config` (how to paint),
:mod:`~agents.gradient.losses`, :mod:`~agents.gradient.parametrisation` (logits ↔ actions,
where strokes start), :mod:`~agents.gradient.optimiser` (Adam, cosine schedule, groups, colour
fit), :mod:`~agents.gradient.tiles`, :mod:`~agents.gradient.real_brush` (the only part that
needs libmypaint) and :mod:`~agents.gradient.painting` (whole paintings).
"""

from agents.gradient.config import (
    TILE,
    Callback,
    GradientConfig,
    Loss,
    RealAlphas,
    fraction_for_size,
    size_for_fraction,
)
from agents.gradient.losses import make_loss
from agents.gradient.optimiser import composite, optimise_strokes, refine_colours
from agents.gradient.painting import paint_images
from agents.gradient.parametrisation import StrokeParams, init_actions
from agents.gradient.real_brush import finish_colours, indexed_alphas, mypaint_alphas
from agents.gradient.tiles import (
    allocate,
    auto_grid,
    canvas_size,
    plan_passes,
    tile_windows,
    to_global,
    total_steps,
    window_alphas,
    window_classes,
    window_weights,
)
from painters.compositing import coverage_weights
from painters.painting import Painting
from painters.replaying import replay_windows as composite_windows

__all__ = [
    "TILE",
    "Callback",
    "GradientConfig",
    "Loss",
    "Painting",
    "RealAlphas",
    "StrokeParams",
    "allocate",
    "auto_grid",
    "canvas_size",
    "composite",
    "composite_windows",
    "coverage_weights",
    "finish_colours",
    "fraction_for_size",
    "indexed_alphas",
    "init_actions",
    "make_loss",
    "mypaint_alphas",
    "optimise_strokes",
    "paint_images",
    "plan_passes",
    "refine_colours",
    "size_for_fraction",
    "tile_windows",
    "to_global",
    "total_steps",
    "window_alphas",
    "window_classes",
    "window_weights",
]
