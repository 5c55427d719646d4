"""Run RL Baselines3 Zoo scripts on ``Painting-v0``: ``python -m agents.zoo SCRIPT ARGS...``.

    python -m agents.zoo train --algo sac --env Painting-v0 \\
        -conf agents/hyperparams/sac.yaml -n 100000 -f logs
    python -m agents.zoo train --algo sac --env Painting-v0 \\
        -conf agents/hyperparams/sac.yaml -optimize --n-trials 20 -n 20000 -f logs_opt
    python -m agents.zoo enjoy --algo sac --env Painting-v0 -f logs -n 40
    python -m agents.zoo record_video --algo sac --env Painting-v0 -f logs -n 40 -o videos
    python -m agents.zoo train --algo through-painter --env Painting-v0 -n 200000 -f logs

SCRIPT is a module of ``rl_zoo3`` (``train``, ``enjoy``, ``record_video``,
``plots.plot_train``, ...; not ``record_training``, which starts ``rl_zoo3.record_video`` in
a new Python without this launcher); ARGS are that script's own arguments. Why a
launcher and not ``python -m rl_zoo3.train --gym-packages painting_env``: the zoo alone
cannot reach what makes this env practical, so before handing over this module

- imports :mod:`painting_env` (registers ``Painting-v0``; ``record_video`` has no
  ``--gym-packages``);
- gives the zoo's ``policy_kwargs`` strings the project's features extractor names
  (``PaintingCNN``, ``PaintingGridMLP``, ...), as ``agents/hyperparams/*.yaml`` use them;
- makes the zoo's training and evaluation envs one batched
  :class:`painting_env.vector_env.PaintingVectorEnv` (one painter call per step for all
  ``n_envs``) instead of ``n_envs`` Python copies in a ``DummyVecEnv``; ``--single-envs``
  (a launcher flag, removed before the zoo parses ARGS) keeps the zoo's own route, and so does
  any ``env_wrapper``, ``frame_stack`` or ``--vec-env subproc``;
- evaluation and ``-optimize`` trials use the file's ``env_kwargs`` (the zoo itself gives
  its evaluation env only command-line ``--env-kwargs``), and ``-optimize`` keeps the file's
  features extractor when Optuna samples ``net_arch``;
- ``record_video`` and ``enjoy`` recreate the env with the ``env_kwargs`` the agent was
  trained with (the zoo's ``record_video`` reads only command-line ``--env-kwargs``), and
  ``enjoy`` runs with ``--no-render`` (the env renders ``rgb_array`` frames, no window);
- ``record_video`` frames (target | canvas) are enlarged, pixels kept sharp, to at least
  256 px tall: the env's own frame is the canvas size (64 px);
- ``train`` without ``-conf`` reads ``agents/hyperparams/ALGO.yaml`` (``sac``, ``td3``,
  ``ppo``, ``through-painter``: the project's recipes, not the zoo's own files);
- SAC and TD3 print their log table once per rollout at most: the batched env ends all
  ``n_envs`` episodes on the same step, and SB3 would print one identical table for every
  finished episode whose count is a multiple of ``log_interval`` (8 at once with 32 envs);
- ``--algo through-painter`` is :class:`agents.ThroughPainter` (``n_envs`` is irrelevant
  to it: it rolls out ``batch_size`` episodes in torch per update).

Needs the ``zoo`` extra: ``pip install -e ".[zoo]"``.
"""

from __future__ import annotations

import functools
import os
import runpy
import sys
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnvWrapper

ENV_ID = "Painting-v0"
#: Launcher flags, consumed here and not passed to the zoo.
SINGLE_ENVS_FLAG = "--single-envs"
HYPERPARAMS_DIR = Path(__file__).resolve().parent / "hyperparams"
#: ``record_video`` frames are enlarged by a whole factor to at least this height.
VIDEO_MIN_HEIGHT = 256


def _fail(message: str) -> None:
    """One ``error:`` line on stderr and exit code 2 (bad command line)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _need_zoo() -> None:
    try:
        import rl_zoo3  # noqa: F401
    except ImportError:
        _fail('rl_zoo3 is not installed; install the zoo extra: pip install -e ".[zoo]"')


def install(batched: bool = True) -> None:
    """Register Painting-v0 and patch the zoo as the module docstring says (idempotent)."""
    import rl_zoo3
    import rl_zoo3.exp_manager as em
    import rl_zoo3.utils as zu

    import painting_env  # noqa: F401  (registers Painting-v0)
    from agents.rl.building import _extractors

    for name, cls in _extractors().items():
        setattr(em, name, cls)  # names the zoo's eval of policy_kwargs can see
    from agents.rl.through_painter import ThroughPainter

    zu.ALGOS.setdefault("through-painter", ThroughPainter)  # --algo through-painter
    _log_once_per_rollout()
    manager = em.ExperimentManager
    if getattr(manager, "_painting_patched", False):
        manager._painting_batched = batched
        return
    manager._painting_patched = True
    manager._painting_batched = batched
    original_create_envs = manager.create_envs
    original_objective = manager.objective

    def create_envs(self, n_envs: int, eval_env: bool = False, no_log: bool = False):
        if self._eval_env_kwargs_args is None:
            # the zoo fixes eval kwargs before reading the file's env_kwargs: evaluation and
            # Optuna trials would run another env (e.g. 1 stroke per step) than training
            self.eval_env_kwargs = self.env_kwargs
        if (
            not type(self)._painting_batched
            or self.env_name.gym_id != ENV_ID
            or self.env_wrapper is not None
            or self.frame_stack is not None
            or self.vec_env_class is not em.DummyVecEnv
        ):
            return original_create_envs(self, n_envs, eval_env=eval_env, no_log=no_log)
        return _batched_envs(self, n_envs, eval_env, no_log)

    def objective(self, trial):
        base = self._hyperparams.get("policy_kwargs")
        sampler = em.HYPERPARAMS_SAMPLER[self.algo]

        def keep_extractor(*args, **kwargs):
            sampled = sampler(*args, **kwargs)
            if isinstance(base, dict) and isinstance(sampled.get("policy_kwargs"), dict):
                sampled["policy_kwargs"] = {**base, **sampled["policy_kwargs"]}
            return sampled

        em.HYPERPARAMS_SAMPLER[self.algo] = keep_extractor
        try:
            return original_objective(self, trial)
        finally:
            em.HYPERPARAMS_SAMPLER[self.algo] = sampler

    manager.create_envs = create_envs
    manager.objective = objective

    original_test_env = zu.create_test_env

    def create_test_env(env_id: str, *args: Any, **kwargs: Any):
        hyperparams = kwargs.get("hyperparams")
        if env_id == ENV_ID and isinstance(hyperparams, dict) and "env_kwargs" in hyperparams:
            hyperparams = dict(hyperparams)
            saved = hyperparams.pop("env_kwargs") or {}
            kwargs["hyperparams"] = hyperparams
            kwargs["env_kwargs"] = {**saved, **(kwargs.get("env_kwargs") or {})}
        env = original_test_env(env_id, *args, **kwargs)
        if env_id == ENV_ID and (kwargs.get("env_kwargs") or {}).get("render_mode") == "rgb_array":
            env = ReadableFrames(env)  # record_video: frames a person can see
        return env

    zu.create_test_env = create_test_env
    rl_zoo3.create_test_env = create_test_env


def _log_once_per_rollout() -> None:
    """Make off-policy SB3 algorithms print (and write) their log table at most once per
    rollout: SB3 dumps inside its loop over the envs that finished an episode, once for each
    whose episode count is a multiple of ``log_interval``; the batched env ends all ``n_envs``
    episodes on the same step, so 32 envs gave 8 identical tables at once. The one table
    comes after the loop, with every episode of the step counted."""
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

    original = OffPolicyAlgorithm.collect_rollouts
    if hasattr(original, "__wrapped__"):
        return  # patched already

    @functools.wraps(original)
    def collect_rollouts(self, *args: Any, log_interval: int | None = None, **kwargs: Any):
        before = self._episode_num
        rollout = original(self, *args, log_interval=None, **kwargs)
        if log_interval and self._episode_num // log_interval > before // log_interval:
            self.dump_logs()
        return rollout

    OffPolicyAlgorithm.collect_rollouts = collect_rollouts  # type: ignore[method-assign]


def enlarge(frame: np.ndarray, min_height: int = VIDEO_MIN_HEIGHT) -> np.ndarray:
    """A uint8 (H, W, 3) frame repeated by the smallest whole factor that makes it at least
    ``min_height`` tall (nearest neighbour: the strokes stay sharp)."""
    factor = max(1, -(-min_height // frame.shape[0]))
    return np.repeat(np.repeat(frame, factor, axis=0), factor, axis=1)


class ReadableFrames(VecEnvWrapper):
    """A VecEnv whose rendered frames are enlarged by :func:`enlarge` (for ``record_video``)."""

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        return self.venv.step_wait()

    def get_images(self) -> list[np.ndarray | None]:
        return [None if f is None else enlarge(f) for f in self.venv.get_images()]

    def render(self, mode: str | None = None) -> np.ndarray | None:
        frame = self.venv.render(mode=mode)
        return frame if frame is None else enlarge(frame)


def _with_default_conf(args: list[str]) -> list[str]:
    """``train`` ARGS with ``-conf agents/hyperparams/ALGO.yaml`` added when they name none."""
    if any(a in ("-conf", "--conf-file") or a.startswith("--conf-file=") for a in args):
        return args
    algo = None
    for i, a in enumerate(args):
        if a == "--algo" and i + 1 < len(args):
            algo = args[i + 1]
        elif a.startswith("--algo="):
            algo = a.split("=", 1)[1]
    conf = HYPERPARAMS_DIR / f"{(algo or 'ppo').replace('-', '_')}.yaml"
    return [*args, "-conf", str(conf)] if conf.is_file() else args


def _batched_envs(manager: Any, n_envs: int, eval_env: bool, no_log: bool):
    """The zoo's create_envs, with one batched painting env in place of a DummyVecEnv."""
    from stable_baselines3.common.vec_env import VecMonitor, VecTransposeImage

    from painting_env.sb3 import make_sb3_vec_env

    log_dir = None if eval_env or no_log else manager.save_path
    env_kwargs = manager.eval_env_kwargs if eval_env else manager.env_kwargs
    env = make_sb3_vec_env(n_envs, seed=manager.seed, monitor=False, **(env_kwargs or {}))
    filename = os.path.join(log_dir, "0") if log_dir is not None else None
    env = VecMonitor(env, filename=filename, **(manager.monitor_kwargs or {}))
    if manager.vec_env_wrapper is not None:
        env = manager.vec_env_wrapper(env)
    env = manager._maybe_normalize(env, eval_env)
    spaces = getattr(env.observation_space, "spaces", {"obs": env.observation_space})
    if any(len(s.shape) == 3 and s.shape[-1] == 3 for s in spaces.values()):
        env = VecTransposeImage(env)  # HWC images → CHW, as the zoo does
    return env


def main(argv: list[str] | None = None) -> None:
    """``SCRIPT ARGS...``: patch the zoo (see module docstring) and run ``rl_zoo3.SCRIPT``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if argv else 2)
    _need_zoo()
    script, args = argv[0], argv[1:]
    module = f"rl_zoo3.{script}"
    import importlib.util

    if script.startswith((".", "_")) or importlib.util.find_spec(module) is None:
        _fail(f"no zoo script {script!r}; use train, enjoy, record_video, ...")
    batched = SINGLE_ENVS_FLAG not in args
    args = [a for a in args if a != SINGLE_ENVS_FLAG]
    if script == "enjoy" and "--no-render" not in args:
        args.append("--no-render")
    if script == "train":
        args = _with_default_conf(args)
    install(batched=batched)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
