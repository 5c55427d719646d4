"""Planning through the painter at decision time: ``plan_actions`` and ``ThroughPainter``'s
``plan_steps``, the bundled default agent's planning and ``neural-paint --plan-steps``."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

import painting_env  # noqa: F401  (registers Painting-v0)
from agents.rl.loading import load_agent
from agents.rl.planning import PlanningModel, plan_actions
from agents.rl.through_painter import ThroughPainter
from painting_env.torch_rollout import paint_step

ROOT = Path(__file__).resolve().parents[1]
COFFEE = str(ROOT / "painting_env/samples/coffee.jpg")
ENV_KWARGS = {"max_strokes": 4, "strokes_per_step": 2}
TINY = {"features_extractor_kwargs": {"channels": [8, 8], "blocks": [0, 1], "hidden": 16}}


def _model(**kw) -> ThroughPainter:
    env = gym.make("Painting-v0", target=COFFEE, **ENV_KWARGS)
    kw = {"batch_size": 2, "policy_kwargs": TINY, "seed": 0, "device": "cpu", **kw}
    return ThroughPainter("MultiInputPolicy", env, **kw)


def _episode(model, env_kwargs: dict, seed: int = 0) -> float:
    env = gym.make("Painting-v0", target=COFFEE, **env_kwargs)
    obs, info = env.reset(seed=seed)
    done = False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        assert np.all(np.abs(action) <= 1)
        obs, _, term, trunc, info = env.step(action)
        done = term or trunc
    return float(info["distance"])


def test_plan_actions_never_worse_than_the_proposal(one_thread):
    env = gym.make("Painting-v0", target=COFFEE, **ENV_KWARGS)
    env.reset(seed=0)
    planner = PlanningModel.from_core(env.unwrapped.core)
    g = torch.Generator().manual_seed(0)
    target = torch.rand(3, 3, 64, 64, generator=g)
    canvas = torch.ones(3, 3, 64, 64)
    proposal = torch.rand(3, 24, generator=g) * 2 - 1
    assert plan_actions(planner, canvas, target, proposal, 0) is proposal
    planned = plan_actions(planner, canvas, target, proposal, 10)
    assert planned.shape == proposal.shape and planned.abs().max() <= 1
    with torch.no_grad():
        before = planner.distance(paint_step(planner.source, canvas, proposal), target)
        after = planner.distance(paint_step(planner.source, canvas, planned), target)
    assert torch.all(after <= before) and float(after.mean()) < 0.9 * float(before.mean())
    again = plan_actions(planner, canvas, target, proposal, 10)
    torch.testing.assert_close(again, planned, rtol=0, atol=0)  # same input, same plan


def test_plan_steps_lower_the_episode_distance_and_survive_save_load(tmp_path, one_thread):
    model = _model()
    bare = _episode(model, ENV_KWARGS)
    model.plan_steps = 8
    planned = _episode(model, ENV_KWARGS)
    assert planned < bare
    model.save(tmp_path / "m.zip")
    loaded = ThroughPainter.load(tmp_path / "m.zip", env=gym.make("Painting-v0", **ENV_KWARGS))
    assert loaded.plan_steps == 8 and loaded.plan_lr == model.plan_lr
    assert _episode(loaded, ENV_KWARGS) == planned


def test_planning_acts_on_vector_observations(one_thread):
    model = _model(plan_steps=4)
    venv = DummyVecEnv([lambda: gym.make("Painting-v0", target=COFFEE, **ENV_KWARGS)] * 3)
    obs = venv.reset()
    action, _ = model.predict(obs, deterministic=True)
    assert action.shape == (3, 24) and np.all(np.abs(action) <= 1)


def test_planning_needs_a_painter_and_sane_numbers():
    with pytest.raises(ValueError, match="plan_steps must be >= 0"):
        _model(plan_steps=-1)
    with pytest.raises(ValueError, match="plan_lr > 0"):
        _model(plan_lr=0.0)
    model = _model(plan_steps=2)
    obs, _ = gym.make("Painting-v0", **ENV_KWARGS).reset(seed=0)
    model.env = None  # an agent without env and without env_kwargs cannot find its painter
    with pytest.raises(ValueError, match="plan_steps = 0"):
        model.predict(obs, deterministic=True)
    with pytest.raises(ValueError, match="differentiable renderer"):
        PlanningModel.from_env_kwargs({"renderer": "simple"}, torch.device("cpu"))


def test_the_default_agent_plans_better_than_its_actor(one_thread):
    model = load_agent("default")
    assert model.plan_steps > 0
    kwargs = {**model.env_kwargs, "max_strokes": 16}
    planned = _episode(model, kwargs)
    model.plan_steps = 0
    bare = _episode(model, kwargs)
    assert planned < 0.9 * bare


def test_paint_cli_plan_steps_checks(tmp_path, capsys):
    from agents.cli.paint import main

    rc = main([COFFEE, "--method", "gradient", "--plan-steps", "4", "--out", str(tmp_path / "a")])
    assert (
        rc == 2
        and "--plan-steps is for --method agent or agent+gradient" in capsys.readouterr().err
    )
    rc = main([COFFEE, "--plan-steps", "-1", "--out", str(tmp_path / "b")])
    assert rc == 2 and "--plan-steps must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_paint_with_agent_plans_only_when_asked(one_thread):
    from agents.painting import AgentView, paint_with_agent
    from painters.images import load_image

    model = load_agent("default")
    image = load_image(COFFEE)
    kw = {"seam_share": 0.0, "fit_colours": False}
    bare = paint_with_agent(image, model, 16, **kw)
    planned = paint_with_agent(image, model, 16, plan_steps=8, **kw)
    assert model.plan_steps == 32  # the painting route leaves the agent's own setting alone
    target = planned.canvas  # both are 64 px paintings of the same prepared target

    def err(p):
        from painters.images import prepare_target

        t = prepare_target(image, p.width, p.height).astype(np.float64) / 255
        return float(np.mean((p.canvas / 255.0 - t) ** 2))

    assert target.shape == bare.canvas.shape and err(planned) < err(bare)
    with pytest.raises(ValueError, match="through-painter agent"):
        AgentView(load_agent("sac-model-free"), plan_steps=4)


def test_auto_plan_steps_bound_the_planning_budget():
    from agents.painting.defaults import PLAN_BUDGET, auto_plan_steps

    model = load_agent("default")
    assert auto_plan_steps(model, 64) == model.plan_steps == 32
    assert auto_plan_steps(model, 256) == 16 and auto_plan_steps(model, 2000) == 2
    assert auto_plan_steps(model, PLAN_BUDGET + 1) == 0
    assert auto_plan_steps(load_agent("sac-model-free"), 64) == 0  # agents that do not plan


def test_paintings_plan_with_the_painter_they_are_drawn_with(one_thread):
    import painters
    from agents.painting import paint_with_agent
    from painters.images import load_image, prepare_target

    pen = painters.load_painter("pen")
    assert PlanningModel.from_painter(pen).source.painter is pen
    model, image = load_agent("default"), load_image(COFFEE)

    def err(plan_steps: int) -> float:
        p = paint_with_agent(image, model, 24, painter=pen, plan_steps=plan_steps,
                             seam_share=0.0, fit_colours=False)  # fmt: skip
        t = prepare_target(image, p.width, p.height).astype(np.float64) / 255
        return float(np.mean((p.canvas / 255.0 - t) ** 2))

    assert err(8) < 0.95 * err(0)
