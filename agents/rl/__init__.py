"""SB3 painting agents: the CNN features extractor, callbacks, training and loading.

>>> from agents.rl import train, load_agent
>>> model = train("sac", "runs/sac_demo", total_timesteps=256, n_envs=2)   # doctest: +SKIP
>>> agent = load_agent("default")                                           # doctest: +SKIP
>>> env = gymnasium.make("Painting-v0", target="photo.jpg", **agent.env_kwargs)  # doctest: +SKIP
"""

from agents.rl.building import ALGOS, ENV_ID, make_env, make_vec_env
from agents.rl.callbacks import (
    EpisodeDistanceCallback,
    ImageGridCallback,
    ProgressBarCallback,
    painting_grid,
    run_episode,
)
from agents.rl.features import PaintingCNN
from agents.rl.hyperparams import parse_overrides
from agents.rl.loading import bundled_agents, load_agent, package_agent
from agents.rl.through_painter import ThroughPainter
from agents.rl.training import build_model, fit_to_budget, load_hyperparams, train

__all__ = [
    "ALGOS",
    "ENV_ID",
    "EpisodeDistanceCallback",
    "ImageGridCallback",
    "PaintingCNN",
    "ProgressBarCallback",
    "ThroughPainter",
    "build_model",
    "bundled_agents",
    "fit_to_budget",
    "load_agent",
    "load_hyperparams",
    "make_env",
    "make_vec_env",
    "package_agent",
    "painting_grid",
    "parse_overrides",
    "run_episode",
    "train",
]
