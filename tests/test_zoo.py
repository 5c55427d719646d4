"""RL Baselines3 Zoo support: the hyperparameter files are valid zoo files that
scripts/train_agent.py reads too, ``python -m agents.zoo`` registers Painting-v0 and patches
the zoo, and (slow) train → enjoy → record_video run end to end on a tiny budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

import painting_env  # noqa: F401  (registers Painting-v0)
from agents.rl.building import _extractors, policy_kwargs_for
from agents.rl.training import HYPERPARAMS_DIR, load_hyperparams
from agents.rl.wrappers import ScaleReward, VecScaleReward
from agents.rl.zoo_format import (
    apply_vec_env_wrappers,
    format_policy_kwargs,
    parse_policy_kwargs,
    reward_scale_of,
    schedule,
)

ROOT = Path(__file__).resolve().parent.parent
TINY_CNN = (
    "dict(net_arch=[16], features_extractor_class=PaintingCNN,"
    " features_extractor_kwargs=dict(features_dim=16, cnn_channels=[4], downsample=4),"
    " normalize_images=False)"
)


def _needs_zoo() -> None:
    """Skip only when RL Baselines3 Zoo itself is missing (the zoo extra)."""
    pytest.importorskip("rl_zoo3", reason='rl_zoo3 missing: pip install -e ".[zoo]"')


#: Keys the zoo's ExperimentManager understands for an SB3 algorithm (or passes to it).
ZOO_KEYS = {"n_envs", "n_timesteps", "policy", "env_kwargs", "vec_env_wrapper", "env_wrapper"}
ZOO_KEYS |= {"noise_type", "noise_std", "normalize", "frame_stack", "callback"}


@pytest.mark.parametrize("algo", ["sac", "td3", "ppo"])
def test_hyperparams_files_are_zoo_files(algo):
    import torch
    from stable_baselines3 import PPO, SAC, TD3

    raw = yaml.safe_load((HYPERPARAMS_DIR / f"{algo}.yaml").read_text())
    hp = raw["Painting-v0"]
    constructor = {"sac": SAC, "td3": TD3, "ppo": PPO}[algo].__init__.__code__.co_varnames
    unknown = set(hp) - ZOO_KEYS - set(constructor)
    assert not unknown, f"keys neither the zoo nor SB3 knows: {unknown}"
    assert isinstance(hp["policy_kwargs"], str)  # the zoo evals strings, passes dicts as is
    # the zoo's eval (with the names agents.zoo provides) and our ast parser agree
    evaluated = eval(hp["policy_kwargs"], {"nn": torch.nn, **_extractors()})  # noqa: S307
    parsed = parse_policy_kwargs(hp["policy_kwargs"])
    assert (
        evaluated["features_extractor_class"] is _extractors()[parsed["features_extractor_class"]]
    )
    assert {k: v for k, v in evaluated.items() if k != "features_extractor_class"} == {
        k: v for k, v in parsed.items() if k != "features_extractor_class"
    }
    assert reward_scale_of(hp) == 100.0
    # and scripts/train_agent.py reads the same file into the same policy
    loaded = load_hyperparams(algo)
    assert (
        policy_kwargs_for(loaded)["features_extractor_class"]
        is evaluated["features_extractor_class"]
    )
    env = gym.make("Painting-v0", **hp["env_kwargs"])
    assert env.action_space.shape == (12 * hp["env_kwargs"]["strokes_per_step"],)
    env.close()


def test_policy_kwargs_parser_runs_no_code():
    text = (
        "dict(net_arch=[64, 64], activation_fn=nn.Tanh, log_std_init=-2, "
        "features_extractor_class=PaintingGridMLP, features_extractor_kwargs=dict(grid=4))"
    )
    parsed = parse_policy_kwargs(text)
    assert parsed["activation_fn"] == "Tanh" and parsed["log_std_init"] == -2
    assert parse_policy_kwargs(format_policy_kwargs(parsed)) == parsed
    for bad in ("__import__('os').system('true')", "dict(a=open('f'))", "[1]", "dict(**x)"):
        with pytest.raises(ValueError, match="policy_kwargs"):
            parse_policy_kwargs(bad)
    assert policy_kwargs_for({"policy_kwargs": text})["activation_fn"].__name__ == "Tanh"


def test_a_file_policy_kwargs_replaces_the_bundled_one(tmp_path):
    f = tmp_path / "mf.yaml"
    f.write_text(
        "Painting-v0:\n"
        "  learning_rate: lin_1.0e-3\n"
        "  vec_env_wrapper:\n"
        "    - agents.rl.wrappers.VecScaleReward:\n"
        "        scale: 7.0\n"
        '  policy_kwargs: "dict(net_arch=[8], features_extractor_class=PaintingGridMLP,'
        ' features_extractor_kwargs=dict(features_dim=8, grid=4))"\n'
    )
    hp = load_hyperparams("sac", f)
    assert hp["policy_kwargs"]["features_extractor_kwargs"] == {"features_dim": 8, "grid": 4}
    assert hp["n_envs"] == 32  # other keys still come from the bundled file
    assert reward_scale_of(hp) == 7.0
    assert schedule(hp["learning_rate"])(0.5) == pytest.approx(5e-4)
    with pytest.raises(ValueError, match="lin_"):
        schedule("cos_1e-3")

    from painting_env.sb3 import make_sb3_vec_env

    plain = make_sb3_vec_env(2, seed=0, size=16, max_strokes=2)
    venv = apply_vec_env_wrappers(make_sb3_vec_env(2, seed=0, size=16, max_strokes=2), hp)
    assert isinstance(venv, VecScaleReward)
    action = np.zeros((2, 12), np.float32)
    plain.reset(), venv.reset()
    assert venv.step(action)[1] == pytest.approx(7.0 * plain.step(action)[1], rel=1e-5)
    venv.close(), plain.close()
    with pytest.raises(ValueError, match="only wrappers"):
        apply_vec_env_wrappers(None, {"vec_env_wrapper": ["os.system"]})


def test_scale_reward_wrappers_scale_rewards():
    env = gym.make("Painting-v0", size=16, max_strokes=2)
    env.reset(seed=0)
    a = np.zeros(12, np.float32)
    _, r, *_ = env.step(a)
    scaled = ScaleReward(gym.make("Painting-v0", size=16, max_strokes=2), scale=10.0)
    scaled.reset(seed=0)
    _, r10, *_ = scaled.step(a)
    assert r10 == pytest.approx(10.0 * r, rel=1e-5)
    with pytest.raises(ValueError, match="positive"):
        ScaleReward(env, scale=0.0)


def test_launcher_registers_the_env_and_patches_the_zoo(capsys):
    _needs_zoo()
    import rl_zoo3.exp_manager as em

    from agents import zoo

    zoo.install()
    assert "Painting-v0" in gym.registry
    assert em.PaintingCNN is _extractors()["PaintingCNN"]  # for the zoo's eval of policy_kwargs
    assert em.ExperimentManager._painting_batched
    with pytest.raises(SystemExit) as exit_info:
        zoo.main(["no_such_script"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        "error: no zoo script 'no_such_script'; use train, enjoy, record_video, ...\n"
    )


def _zoo(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agents.zoo", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.slow
def test_zoo_train_enjoy_record_video(tmp_path):
    _needs_zoo()
    conf = tmp_path / "tiny.yaml"
    conf.write_text(
        "Painting-v0:\n"
        "  n_envs: 2\n  n_timesteps: 64\n  policy: MultiInputPolicy\n"
        "  env_kwargs: {size: 32, max_strokes: 4, strokes_per_step: 2}\n"
        "  vec_env_wrapper:\n    - agents.rl.wrappers.VecScaleReward: {scale: 100.0}\n"
        "  learning_starts: 16\n  batch_size: 8\n  buffer_size: 256\n"
        f'  policy_kwargs: "{TINY_CNN}"\n'
    )
    logs, vid = tmp_path / "logs", tmp_path / "vid"
    base = ["--algo", "sac", "--env", "Painting-v0", "-f", str(logs)]
    r = _zoo(["train", *base, "-conf", str(conf), "--eval-freq", "-1", "--seed", "0"], ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    run = logs / "sac" / "Painting-v0_1"
    assert (run / "Painting-v0.zip").is_file()
    # the batched env: one monitor file for both envs (the zoo's route writes one per env)
    assert (run / "0.monitor.csv").is_file() and not (run / "1.monitor.csv").exists()
    r = _zoo(["enjoy", *base, "-n", "8"], ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    r = _zoo(["record_video", *base, "-n", "8", "-o", str(vid)], ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    videos = list(vid.glob("*.mp4"))
    assert videos, "no video written"
    import imageio

    frame = imageio.get_reader(str(videos[0])).get_data(0)
    assert frame.shape == (256, 512, 3)  # the 32 px env's target | canvas, 8 times enlarged


def test_train_without_conf_reads_the_projects_recipe():
    from agents.zoo import _with_default_conf

    args = ["--algo", "through-painter", "--env", "Painting-v0", "-f", "logs"]
    assert _with_default_conf(args) == [
        *args, "-conf", str(ROOT / "agents/hyperparams/through_painter.yaml")
    ]  # fmt: skip
    assert _with_default_conf(["--algo=td3"])[-1] == str(ROOT / "agents/hyperparams/td3.yaml")
    given = ["--algo", "sac", "-conf", "mine.yaml"]
    assert _with_default_conf(given) == given
    assert _with_default_conf(["--algo", "a2c"]) == ["--algo", "a2c"]  # no recipe: the zoo's


def test_recorded_frames_are_enlarged_to_a_readable_size():
    from agents.zoo import ReadableFrames, enlarge
    from painting_env.sb3 import make_sb3_vec_env

    venv = make_sb3_vec_env(1, seed=0, monitor=False, size=32, max_strokes=2,
                            render_mode="rgb_array")  # fmt: skip
    wrapped = ReadableFrames(venv)
    wrapped.reset()
    wrapped.step(np.full((1, 12), 0.5, np.float32))
    small, big = venv.render(), wrapped.render()
    assert small.shape == (32, 64, 3) and big.shape == (256, 512, 3)
    assert np.array_equal(big[::8, ::8], small) and np.array_equal(big[7::8, 7::8], small)
    assert enlarge(np.zeros((300, 600, 3), np.uint8)).shape == (300, 600, 3)
    assert enlarge(np.zeros((100, 200, 3), np.uint8)).shape == (300, 600, 3)
    wrapped.close()


def _sac_tables(capsys, log_interval: int) -> list[int]:
    """total_timesteps of every log table a tiny SAC run on 8 batched envs prints."""
    from stable_baselines3 import SAC

    from painting_env.sb3 import make_sb3_vec_env

    venv = make_sb3_vec_env(8, seed=0, size=16, max_strokes=2, strokes_per_step=1)
    kwargs = parse_policy_kwargs(TINY_CNN)
    kwargs["features_extractor_class"] = _extractors()[kwargs["features_extractor_class"]]
    model = SAC("MultiInputPolicy", venv, learning_starts=10**6, buffer_size=64,
                policy_kwargs=kwargs, verbose=1, seed=0, device="cpu")  # fmt: skip
    capsys.readouterr()
    model.learn(8 * 2 * 3, log_interval=log_interval)  # three rounds of 8 two-step episodes
    venv.close()
    out = capsys.readouterr().out
    return [int(line.split("|")[2]) for line in out.splitlines() if "total_timesteps" in line]


def test_zoo_sac_prints_one_table_per_log_interval(capsys, monkeypatch, one_thread):
    _needs_zoo()
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

    from agents import zoo

    # SB3 alone: one identical table per finished episode whose count is a multiple of 2
    sb3 = OffPolicyAlgorithm.collect_rollouts
    monkeypatch.setattr(OffPolicyAlgorithm, "collect_rollouts", getattr(sb3, "__wrapped__", sb3))
    assert _sac_tables(capsys, log_interval=2) == [16] * 4 + [32] * 4 + [48] * 4
    zoo.install()  # what the launcher does before the zoo trains
    assert _sac_tables(capsys, log_interval=2) == [16, 32, 48]
    assert _sac_tables(capsys, log_interval=16) == [32]  # episodes 8 → 16 reach 16, 16 → 24 not


def test_through_painter_trains_through_the_zoo(tmp_path, monkeypatch, one_thread):
    _needs_zoo()
    from agents import zoo
    from agents.rl.through_painter import ThroughPainter

    conf = tmp_path / "tp.yaml"
    conf.write_text(
        "Painting-v0:\n  n_timesteps: 16\n  policy: MultiInputPolicy\n"
        "  env_kwargs: {size: 16, max_strokes: 4, strokes_per_step: 2}\n"
        "  batch_size: 2\n  learning_rate: 1.0e-3\n  lr_schedule: constant\n"
        "  policy_kwargs:\n    features_extractor_kwargs:\n"
        "      {channels: [8, 8], blocks: [0, 1], hidden: 16}\n"
    )
    logs = tmp_path / "logs"
    monkeypatch.setattr(sys, "argv", sys.argv[:])
    args = ["--algo", "through-painter", "--env", "Painting-v0", "-conf", str(conf)]
    zoo.main(["train", *args, "-f", str(logs), "--seed", "0", "--eval-freq", "-1"])
    run = logs / "through-painter" / "Painting-v0_1"
    model = ThroughPainter.load(run / "Painting-v0.zip", device="cpu")
    # the zoo hands the rate over as ConstantSchedule(1e-3): the algorithm reads its value
    assert model.learning_rate == pytest.approx(1e-3) and model._n_updates == 4
    env = gym.make("Painting-v0", size=16, max_strokes=4, strokes_per_step=2)
    obs, _ = env.reset(seed=0)
    assert model.predict(obs, deterministic=True)[0].shape == (24,)


def test_bundled_sac_model_free_reads_the_target():
    from agents.rl import load_agent
    from agents.rl.features import PaintingGridMLP

    model = load_agent("sac-model-free")
    assert isinstance(model.policy.actor.features_extractor, PaintingGridMLP)
    colours = []
    for rgb in ((200, 40, 30), (30, 60, 200)):
        target = np.zeros((16, 16, 3), np.uint8)
        target[:] = rgb
        env = gym.make("Painting-v0", target=target, **model.env_kwargs)
        obs, info = env.reset(seed=0)
        start = info["distance"]
        colours.append(model.predict(obs, deterministic=True)[0][6:9])  # first stroke's RGB
        done = False
        while not done:
            action = model.predict(obs, deterministic=True)[0]
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        assert info["distance"] < 0.5 * start  # it paints towards the target, not away
        env.close()
    # a red and a blue target get different first-stroke colours: the policy reads the target
    assert colours[0][0] > colours[1][0] and colours[0][2] < colours[1][2]
