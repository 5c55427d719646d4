"""``Painting-v0``: paint a target image one brushstroke per step."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from painting_env.config import PaintingConfig, make_config
from painting_env.core import PaintingCore


class PaintingEnv(gym.Env):
    """
    ## Description

    An agent paints a target image on a blank canvas, one brushstroke per step. Each stroke is a
    12-number action (see ``painters.actions``: pressure, size, Bézier control and end point,
    colour, start point, entry pressure) drawn by a renderer, by default the bundled
    differentiable neural painter, and laid *over* the canvas (straight-alpha compositing).
    The episode's painting is its list of actions, so it can be re-rendered with the real MyPaint
    brush at any resolution (``env.unwrapped.painting()`` + ``painters.replay``).

    ## Action Space

    ``Box(-1, 1, (12·k,), float32)`` where ``k = strokes_per_step``: k strokes laid in order.
    With ``brushes=[...]`` (K brushes) each stroke takes 12 + K values, ``Box(-1, 1,
    ((12 + K)·k,))``: the stroke's 12, then one per brush; the largest picks the stroke's brush
    (ties: the first), drawn by that brush's bundled painter or, with ``renderer="mypaint"``,
    its MyPaint brush.
    Values are mapped to the stroke range [0, 1] by ``painters.actions.from_env_action`` (the
    one mapping in the project). Values outside [-1, 1] are clipped to the edge (unsquashed
    policies such as PPO's emit them); NaN or inf raises ``ValueError``.

    ## Observation Space

    ``obs_mode="dict"`` (default):
    ``Dict(canvas=Box(0, 255, (H, W, 3), uint8), target=Box(0, 255, (H, W, 3), uint8),
    step=Box(0, 1, (1,), float32))`` with ``H = W = size`` and ``step`` the fraction of
    ``max_strokes`` painted so far.

    ``obs_mode="compact"``: one channel-first image ``Box(0, 255, (7, H, W), uint8)``: canvas RGB,
    target RGB and a constant plane ``round(255 · step)``. This is for off-policy replay buffers:
    SB3 cannot use ``optimize_memory_usage=True`` with Dict observations. 100k transitions at
    64 px: Dict (canvas + target, obs and next obs) ≈ 4.9 GB; compact with
    ``optimize_memory_usage=True`` ≈ 2.9 GB (7·64·64 bytes per transition); SB3 then also needs
    ``handle_timeout_termination=False``. SB3's CNN policies divide by 255, so the step plane
    arrives as the step fraction.

    ## Rewards

    The decrease of the chosen ``distance`` between canvas and target (float canvas in [0, 1]):
    ``reward = previous distance − new distance``. An episode's rewards therefore sum to
    ``initial distance − final distance``. ``info["distance"]`` holds the current distance after
    every ``reset`` and ``step``.

    ## Starting State

    A canvas filled with ``background`` and a target drawn from the target set with
    ``self.np_random``: a collection of images is sampled, randomly cropped (60–100 % of the
    shorter side) and flipped; a single ``target`` is its largest centred square (a non-square
    photo is cropped, never squashed), resized to ``size × size`` by
    :func:`painters.images.prepare_target`, the preparation ``neural-paint`` uses too, so the
    same photo at the same size is the same target array (docs/TARGETS.md).

    ## Episode End

    Never terminated. Truncated after ``max_strokes`` strokes (``max_strokes / k`` steps); the
    env truncates itself, so it is registered without a ``TimeLimit``.

    ## Arguments

    Keyword arguments, or a :class:`painting_env.config.PaintingConfig` (where each is
    documented and checked): ``target``, ``targets``, ``renderer``, ``size``, ``max_strokes``,
    ``distance``, ``strokes_per_step``, ``background``, ``brush``, ``brushes``, ``device``, ``render_mode``,
    ``obs_mode`` and ``random_crop``. Real renderers seed each stroke's texture from an episode
    base drawn with ``np_random``; neural strokes are resized if the painter's size differs.
    On CPU a single env is fastest with ``torch.set_num_threads(1)``: its default painter,
    compositing and distance run in numpy, and spare threads only contend with other processes.

    ## Version History

    - v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, config: PaintingConfig | None = None, **kwargs: Any) -> None:
        self.config = make_config(config, kwargs)
        self.render_mode = self.config.render_mode
        self.core = PaintingCore(1, self.config)
        self.observation_space = self.core.observation_space()
        self.action_space = self.core.action_space()
        self.max_strokes = self.core.max_strokes
        self._started = False

    def _obs(self):
        obs = self.core.observe()
        if isinstance(obs, dict):
            return {key: value[0] for key, value in obs.items()}
        return obs[0]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """New target, blank canvas. ``options`` is accepted for API compatibility and unused."""
        super().reset(seed=seed)
        self.core.reset(np.zeros(1, np.int64), [self.np_random])
        self._started = True
        return self._obs(), {"distance": float(self.core.dist[0])}

    def step(self, action):
        """Lay the action's k strokes; reward = decrease of the distance to the target."""
        if not self._started:
            raise RuntimeError("call reset() before step()")
        reward = float(self.core.step(np.asarray(action, dtype=np.float32)[None])[0])
        truncated = bool(self.core.count[0] >= self.max_strokes)
        return self._obs(), reward, False, truncated, {"distance": float(self.core.dist[0])}

    def render(self) -> np.ndarray | None:
        """target | canvas side by side, uint8 (H, 2W, 3), when ``render_mode="rgb_array"``."""
        if self.render_mode != "rgb_array":
            return None
        return self.core.frames()[0]

    def painting(self) -> np.ndarray:
        """This episode's strokes so far, float32 (n, 12) in [0, 1], ready for
        ``painters.replay`` with any renderer."""
        return self.core.painting(0)

    def stroke_brushes(self) -> list[str] | None:
        """Each stroke's brush so far (``brushes`` set), else None; with :meth:`painting` it
        makes a ``painters.Painting(actions, stroke_brushes=...)``."""
        return self.core.stroke_brushes(0)

    @property
    def canvas(self) -> torch.Tensor:
        """The float canvas (1, 3, H, W) in [0, 1] on ``device``: a read-only view that each
        step updates in place (clone it to keep a snapshot)."""
        return self.core.canvas
