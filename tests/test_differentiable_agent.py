"""Model-based policy training through the differentiable painting env."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import painting_env  # noqa: F401  (registers Painting-v0)
from agents.rl.building import make_vec_env
from agents.rl.differentiable import policy_actions, rollout, train_through_painter
from agents.rl.training import build_model, load_hyperparams
from painters import load_painter
from painters.distances import mse

ENV_KWARGS = {"max_strokes": 4, "strokes_per_step": 2, "target": "painting_env/samples/coffee.jpg"}


def _tiny_model(algo: str = "sac"):
    hp = load_hyperparams(algo, None, None)
    hp["policy_kwargs"] = {
        "net_arch": [16],
        "features_extractor_kwargs": {"features_dim": 16, "cnn_channels": [4], "downsample": 8},
    }
    if algo == "ppo":
        hp.update(n_steps=64, batch_size=32)
    else:
        hp["learning_starts"] = 10
    env = make_vec_env(1, seed=0, device="cpu", **ENV_KWARGS)
    return build_model(algo, env, hp, seed=0, device="cpu")


def test_structured_painter_gradient_is_finite_for_degenerate_strokes():
    painter = load_painter("default")
    for value in (0.0, 1.0):
        x = torch.full((2, 12), value, requires_grad=True)
        painter(x).sum().backward()
        assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("algo", ["sac", "td3", "ppo"])
def test_policy_actions_match_predict(algo):
    model = _tiny_model(algo)
    env = gym.make("Painting-v0", **ENV_KWARGS)
    obs, _ = env.reset(seed=0)
    want, _ = model.predict(obs, deterministic=True)
    obs_t, _ = model.policy.obs_to_tensor(obs)
    with torch.no_grad():
        got = policy_actions(model, obs_t).cpu().numpy()[0]
    np.testing.assert_allclose(np.clip(got, -1, 1), want, atol=1e-5)


def test_rollout_matches_the_env():
    """The differentiable rollout paints exactly what Painting-v0 paints for the same policy."""
    model = _tiny_model("sac")
    env = gym.make("Painting-v0", **ENV_KWARGS)
    obs, info = env.reset(seed=0)
    target = torch.from_numpy(obs["target"]).permute(2, 0, 1)[None].float() / 255.0
    done = False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, _, term, trunc, info = env.step(action)
        done = term or trunc
    with torch.no_grad():
        dists, _ = rollout(
            model, load_painter("default"), target, max_strokes=4, strokes_per_step=2, distance=mse
        )
    # the env observes a uint8 canvas; the rollout rounds it the same way
    assert abs(float(dists[-1, 0]) - info["distance"]) < 2e-4


def test_training_through_the_painter_lowers_the_distance():
    model = _tiny_model("sac")
    losses = []

    def log(step, stats):
        losses.append(stats["final_distance"])

    train_through_painter(
        model,
        env_kwargs=ENV_KWARGS,
        steps=30,
        batch_size=8,
        learning_rate=3e-3,
        log=log,
        progress=False,
    )
    before = float(np.mean(losses[:5]))
    after = float(np.mean(losses[-5:]))
    assert after < before


def test_train_agent_script_through_painter_only(tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "train_agent.py"
    spec = importlib.util.spec_from_file_location("train_agent_script", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    main = mod.main
    out = tmp_path / "agent"
    main(
        [
            "--algo", "sac", "--total-timesteps", "0", "--through-painter-steps", "2",
            "--n-envs", "2", "--out", str(out), "--seed", "0", "--device", "cpu",
            "--env-kwargs", '{"max_strokes": 4, "strokes_per_step": 2}', "--no-progress",
        ]
    )  # fmt: skip
    from agents import load_agent

    model = load_agent(out)
    assert model.env_kwargs == {"max_strokes": 4, "strokes_per_step": 2}
    assert list((out / "tb" / "through_painter").glob("events.out.tfevents.*"))


def test_synthetic_targets_are_seeded_paintings():
    from agents.rl.differentiable import synthetic_targets

    painter = load_painter("default")
    a = synthetic_targets(painter, np.random.default_rng(3), 2, 64, "cpu")
    b = synthetic_targets(painter, np.random.default_rng(3), 2, 64, "cpu")
    assert a.shape == (2, 3, 64, 64) and torch.equal(a, b)
    assert float(a.std()) > 0.01 and 0.0 <= float(a.min()) and float(a.max()) <= 1.0
