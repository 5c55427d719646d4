"""``ThroughPainter``: a Stable-Baselines3 algorithm that learns to paint *through* the
differentiable painter.

``Painting-v0``'s dynamics are known and differentiable: the neural painter draws the strokes
and "over" lays them on the canvas. So instead of estimating gradients from sampled returns
(SAC, TD3, PPO), this algorithm rolls whole episodes out in torch with the env's own step and
observation code (:mod:`painting_env.torch_rollout`) and backpropagates through them, the way
Learning to Paint trains its actor through its renderer. Two learning rules:

- ``"backprop"`` (default): whole-episode backpropagation. The loss is the mean over the
  episode's steps of the distance to the target plus ``final_weight`` times the final distance.
- ``"critic"``: Learning to Paint's model-based critic. A value network learns V(s) (TD(0)
  with a Polyak-averaged target copy); the actor maximises r(s, a) + γ·V(s′), with s′ rendered
  by the painter, so the gradient flows through the painter and V into the strokes.

Everything else is SB3's: ``learn(total_timesteps, callback=...)`` with its logger
(TensorBoard scalars and a painting grid under ``images/painting``), callbacks (one iteration
— a batch of whole episodes — is one callback step, so ``CheckpointCallback(save_freq)`` and
``EvalCallback(eval_freq)`` count iterations), ``save`` / ``load`` / ``predict`` /
``set_env``. ``num_timesteps`` counts env steps (episodes × steps per episode, all processes).

Under ``torch.distributed`` (``torchrun``) every process draws its own targets, gradients are
averaged before each update, and stopping is agreed, so all processes hold the same weights.

    >>> import gymnasium as gym, painting_env
    >>> from agents import ThroughPainter
    >>> env = gym.make("Painting-v0", max_strokes=64, strokes_per_step=8)
    >>> model = ThroughPainter("MultiInputPolicy", env, seed=0).learn(20_000)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import time
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import Image
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.common.utils import ConstantSchedule, safe_mean

from agents.rl.through_policy import ThroughPainterPolicy, policy_kwargs_of, soft_update
from painters.schedule import cosine_lr
from painting_env.observation import encode_observation_torch
from painting_env.torch_rollout import paint_step

LEARNING_RULES = ("backprop", "critic")
LR_SCHEDULES = ("cosine", "constant")


def _dist() -> tuple[int, int]:
    """(rank, world size) of the current torch.distributed group, (0, 1) without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class ThroughPainter(BaseAlgorithm):
    """Learns a painting policy by backpropagating through ``Painting-v0``'s neural painter.

    Args:
        policy: ``"MultiInputPolicy"`` (:class:`ThroughPainterPolicy` with the spatial actor of
            the default agent) or a policy class.
        env: a ``Painting-v0`` env, VecEnv or env id (neural renderer, Dict observations).
        learning_rate: the actor's peak Adam rate, or an SB3 schedule (a function of the
            progress remaining, as the RL Zoo passes it), which then replaces ``lr_schedule``;
            a ``ConstantSchedule`` counts as its value.
        batch_size: episodes per update (per process).
        learning_rule: ``"backprop"`` or ``"critic"`` (see the module docstring; the default
            learns faster from scratch per CPU second, docs/THROUGH_PAINTER.md).
        final_weight: ``"backprop"``: extra weight of the final canvas's distance.
        gamma: ``"critic"``: discount per env step.
        reward_scale: ``"critic"``: rewards (distance decreases) are multiplied by this.
        critic_learning_rate: ``"critic"``: the value network's Adam rate.
        tau: ``"critic"``: Polyak rate of the value network's target copy.
        lr_schedule: ``"cosine"`` (half a cosine from ``learning_rate`` down to
            ``min_learning_rate`` over ``learn()``'s ``total_timesteps``) or ``"constant"``.
        warmup_updates: the model's first updates ramp the rate up linearly (cosine only).
        max_grad_norm: gradient-norm clip of every update.
        targets: training targets: ``None`` (the env's own target set), or a shard folder /
            image folder (:class:`agents.rl.through_targets.TargetMix`).
        procedural_fraction, painting_fraction, permute_colours: the target mix (share of
            procedural images, share of the painter's random paintings, probability of
            shuffling a photo's colour channels).
        image_interval: iterations between painting grids in the logger (0: never).
        amp: bfloat16 autocast for the rollout (mixed precision; CUDA or CPU).
        plan_steps: :meth:`predict` refines each step's proposed strokes by this many Adam
            steps through the painter before returning them (:mod:`agents.rl.planning`;
            0: the actor's action as it is). Training rollouts always use the bare actor.
        plan_lr: those steps' Adam rate.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MultiInputPolicy": ThroughPainterPolicy
    }
    policy: ThroughPainterPolicy

    def __init__(
        self,
        policy: str | type[ThroughPainterPolicy],
        env,
        learning_rate: float | Schedule = 1e-3,
        batch_size: int = 32,
        learning_rule: str = "backprop",
        final_weight: float = 1.0,
        gamma: float = 0.95,
        reward_scale: float = 100.0,
        critic_learning_rate: float = 1e-3,
        tau: float = 0.01,
        lr_schedule: str = "cosine",
        min_learning_rate: float = 3e-5,
        warmup_updates: int = 10,
        max_grad_norm: float = 1.0,
        targets: str | None = None,
        procedural_fraction: float = 0.25,
        painting_fraction: float = 0.25,
        permute_colours: float = 0.5,
        image_interval: int = 100,
        amp: bool = False,
        plan_steps: int = 0,
        plan_lr: float = 0.05,
        policy_kwargs: dict[str, Any] | None = None,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        if isinstance(learning_rate, ConstantSchedule):  # the zoo wraps plain rates
            learning_rate = float(learning_rate.val)
        super().__init__(
            policy,
            env,
            learning_rate,
            policy_kwargs=policy_kwargs,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            support_multi_env=True,
            seed=seed,
            supported_action_spaces=(spaces.Box,),
        )
        if learning_rule not in LEARNING_RULES:
            raise ValueError(
                f"unknown learning_rule {learning_rule!r}; choose one of {', '.join(LEARNING_RULES)}"
            )
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"unknown lr_schedule {lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}"
            )
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.learning_rule = learning_rule
        self.final_weight = float(final_weight)
        self.gamma = float(gamma)
        self.reward_scale = float(reward_scale)
        self.critic_learning_rate = float(critic_learning_rate)
        self.tau = float(tau)
        self.lr_schedule_name = lr_schedule
        self.min_learning_rate = float(min_learning_rate)
        self.warmup_updates = int(warmup_updates)
        self.max_grad_norm = float(max_grad_norm)
        self.targets = None if targets is None else str(targets)
        self.procedural_fraction = float(procedural_fraction)
        self.painting_fraction = float(painting_fraction)
        self.permute_colours = float(permute_colours)
        self.image_interval = int(image_interval)
        self.amp = bool(amp)
        if int(plan_steps) < 0 or float(plan_lr) <= 0:
            raise ValueError(
                f"plan_steps must be >= 0 and plan_lr > 0, got {plan_steps} and {plan_lr}"
            )
        self.plan_steps = int(plan_steps)
        self.plan_lr = float(plan_lr)
        self._planner = None
        #: Each process's target-generator state at the last update (JSON in the saved zip).
        self.rng_states: list[dict[str, Any]] = []
        self._n_updates = 0
        if _init_setup_model:
            self._setup_model()

    # -- setup -------------------------------------------------------------------------------
    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        kwargs = dict(self.policy_kwargs or {})
        if isinstance(kwargs.get("features_extractor_class"), str):  # JSON/YAML names
            kwargs = policy_kwargs_of({"policy_kwargs": kwargs})
        kwargs["critic"] = self.learning_rule == "critic"
        kwargs["critic_learning_rate"] = self.critic_learning_rate
        self.policy = self.policy_class(
            self.observation_space, self.action_space, self.lr_schedule, **kwargs
        ).to(self.device)
        rank, _ = _dist()
        seed = None if self.seed is None else int(self.seed) + 1_000_003 * rank
        self._run = SimpleNamespace(rng=np.random.default_rng(seed), env=None)
        if rank < len(self.rng_states):  # a resumed run continues its target sequence
            self._run.rng.bit_generator.state = copy.deepcopy(self.rng_states[rank])

    def _excluded_save_params(self) -> list[str]:
        # runtime state (painter, generators, the last rollout's observations) is rebuilt;
        # what a resume needs is in ``rng_states``, the policy and the optimizers
        return [
            *super()._excluded_save_params(),
            "_run",
            "_planner",
            "_last_obs",
            "_last_episode_starts",
            "_last_original_obs",
            "ep_info_buffer",
            "ep_success_buffer",
        ]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        names = ["policy", "policy.optimizer"]
        if self.policy.critic_optimizer is not None:
            names.append("policy.critic_optimizer")
        return names, []

    def set_env(self, env, force_reset: bool = True) -> None:
        super().set_env(env, force_reset=force_reset)
        self._run.env = None  # the painter and targets are read from the new env at learn()
        self._planner = None

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
        plan_steps: int | None = None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """The actor's action (the policy is deterministic), refined by ``plan_steps`` Adam
        steps through the painter (default: the model's ``plan_steps``; 0: the actor's action
        as it is) with :func:`agents.rl.planning.plan_actions`, which keeps whichever action
        leaves the lower env distance, so planning never paints a worse step than the actor's."""
        steps = self.plan_steps if plan_steps is None else int(plan_steps)
        action, state = super().predict(observation, state, episode_start, deterministic)
        if steps <= 0:
            return action, state
        return self.plan(observation, action, steps), state

    def plan(
        self,
        observation: dict[str, np.ndarray],
        action: np.ndarray,
        steps: int | None = None,
        strokes: int | None = None,
        planner: Any = None,
    ) -> np.ndarray:
        """``action`` for ``observation`` refined by ``steps`` (default ``plan_steps``) Adam
        steps through the painter; ``strokes``: only each step's first strokes will be painted
        (:func:`agents.rl.planning.plan_actions`); ``planner``: a
        :class:`agents.rl.planning.PlanningModel` to plan with instead of the env's painter."""
        from agents.rl.planning import plan_actions

        steps = self.plan_steps if steps is None else int(steps)
        obs, _ = self.policy.obs_to_tensor(observation)
        canvas, target = obs["canvas"].float() / 255.0, obs["target"].float() / 255.0
        proposal = torch.as_tensor(action, device=self.device).reshape(len(canvas), -1)
        planned = plan_actions(
            planner or self._planning_model(),
            canvas,
            target,
            proposal,
            steps,
            self.plan_lr,
            strokes,
        )
        return planned.cpu().numpy().reshape(action.shape).astype(action.dtype)

    def _planning_model(self):
        """The env's stroke source and distance for planning: from the env, or rebuilt from
        ``env_kwargs`` for a loaded agent without one (cached until :meth:`set_env`)."""
        from agents.rl.planning import PlanningModel

        if self._planner is None:
            if self.env is not None:
                self._planner = PlanningModel.from_core(self.env.get_attr("core")[0])
            elif getattr(self, "env_kwargs", None) is not None:
                self._planner = PlanningModel.from_env_kwargs(self.env_kwargs, self.device)
            else:
                raise ValueError(
                    "planning needs the painter: call set_env(Painting-v0 env) first, or set "
                    "model.plan_steps = 0"
                )
        return self._planner

    def _painting(self) -> SimpleNamespace:
        """The env's painting rules (stroke source, distance, canvas, targets), read from its
        :class:`painting_env.core.PaintingCore` once per env."""
        run = self._run
        if run.env is self.env and getattr(run, "source", None) is not None:
            return run
        if self.env is None:
            raise ValueError("this ThroughPainter has no env; call set_env(Painting-v0 env) first")
        try:
            core = self.env.get_attr("core")[0]
        except AttributeError:
            raise ValueError(
                "ThroughPainter trains on Painting-v0 envs (it reads the env's painter); "
                f"got {self.env}"
            ) from None
        if core.config.brushes:
            raise ValueError(
                "ThroughPainter paints with one brush; make its env without brushes= "
                f"(got brushes={list(core.config.brushes)})"
            )
        if core.source.painter is None:
            raise ValueError(
                f"ThroughPainter needs a differentiable renderer; the env draws with "
                f"{core.source.name!r} (use renderer='neural' or a painter folder)"
            )
        if not isinstance(self.observation_space, spaces.Dict):
            raise ValueError("ThroughPainter needs Painting-v0's Dict observations")
        source = core.source
        if source.device != self.device:
            source = copy.copy(source)
            source.painter = copy.deepcopy(core.source.painter).to(self.device)
            source.device = self.device
        source.painter.requires_grad_(False)
        from agents.rl.through_targets import TargetMix

        run.mix = TargetMix(
            self.targets if self.targets is not None else core.targets,
            core.size,
            source,
            procedural_fraction=self.procedural_fraction,
            painting_fraction=self.painting_fraction,
            permute_colours=self.permute_colours,
        )
        run.source, run.env, run.k = source, self.env, core.k
        run.max_strokes, run.size, run.distance = core.max_strokes, core.size, core.distance
        run.blank = core.blank.to(self.device)
        run.channel_first = self.observation_space["canvas"].shape[0] == 3
        return run

    # -- rollouts ----------------------------------------------------------------------------
    def _observe(self, canvas: torch.Tensor, target_u8: torch.Tensor, frac: float):
        """The env's observation (its own encoder), as float tensors without gradient."""
        return encode_observation_torch(
            canvas, target_u8 / 255.0, frac, "dict", channel_first=self._run.channel_first
        )

    def rollout(self, target_u8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Paint targets (B, 3, S, S) with 0–255 values for one episode, differentiably, with
        the current actor: the distances after every step (T, B) and the final canvases."""
        run = self._painting()
        target = target_u8 / 255.0
        canvas = run.blank.expand(len(target_u8), -1, -1, -1)
        steps = run.max_strokes // run.k
        dists = []
        for t in range(steps):
            action = self.policy.actor(
                self._observe(canvas, target_u8, t * run.k / run.max_strokes)
            )
            canvas = paint_step(run.source, canvas, action)
            dists.append(run.distance(canvas, target))
        return torch.stack(dists), canvas

    def _critic_losses(self, target_u8: torch.Tensor):
        """Model-based critic rule: (actor loss, critic loss, distances (T, B), canvases)."""
        run, policy = self._run, self.policy
        target = target_u8 / 255.0
        canvas = run.blank.expand(len(target_u8), -1, -1, -1)
        prev = run.distance(canvas, target).detach()
        steps = run.max_strokes // run.k
        actor_loss = critic_loss = 0.0
        dists = []
        for t in range(steps):
            frac, nxt_frac = t * run.k / run.max_strokes, (t + 1) * run.k / run.max_strokes
            action = policy.actor(self._observe(canvas, target_u8, frac))
            nxt = paint_step(run.source, canvas, action)
            d = run.distance(nxt, target)
            reward = (prev - d) * self.reward_scale
            step = torch.full((len(nxt), 1), nxt_frac, device=nxt.device)
            last = t == steps - 1
            value_next = 0.0 if last else policy.critic(nxt, target, step)
            actor_loss = actor_loss - (reward + self.gamma * value_next).mean() / steps
            with torch.no_grad():
                boot = 0.0 if last else policy.critic_target(nxt, target, step)
                y = reward + self.gamma * boot
            here = torch.full((len(nxt), 1), frac, device=nxt.device)
            v = policy.critic(canvas, target, here)
            critic_loss = critic_loss + torch.nn.functional.mse_loss(v, y) / steps
            canvas, prev = nxt.detach(), d.detach()
            dists.append(d.detach())
        return actor_loss, critic_loss, torch.stack(dists), canvas

    # -- updates -----------------------------------------------------------------------------
    def _learning_rate_now(self, steps_per_update: int) -> float:
        total = max(int(self._total_timesteps), 1)
        frac = min(1.0, (self.num_timesteps + steps_per_update) / total)  # after this update
        if callable(self.learning_rate):  # an SB3 schedule of the progress remaining
            return float(self.learning_rate(1.0 - frac))
        lr = float(self.learning_rate)
        if self.lr_schedule_name == "constant":
            return lr
        if self._n_updates < self.warmup_updates:
            return lr * (self._n_updates + 1) / self.warmup_updates
        floor = min(1.0, self.min_learning_rate / lr) if lr > 0 else 1.0
        return cosine_lr(lr, frac, 1.0, floor=floor)

    def _average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        _, world = _dist()
        if world == 1:
            return
        import torch.distributed as dist

        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= world
        at = 0
        for p, g in zip(params, grads, strict=True):
            n = g.numel()
            p.grad = flat[at : at + n].view_as(p).clone()
            at += n

    def train_step(self, steps_per_update: int) -> dict[str, Any]:
        """One update from a fresh batch of whole episodes; returns its statistics."""
        run, policy = self._painting(), self.policy
        lr = self._learning_rate_now(steps_per_update)
        for g in policy.optimizer.param_groups:
            g["lr"] = lr
        policy.set_training_mode(True)
        target_u8 = run.mix.sample(run.rng, self.batch_size, self.device)
        amp = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)
        actor_params = list(policy.actor.parameters())
        policy.optimizer.zero_grad(set_to_none=True)
        stats: dict[str, Any] = {"learning_rate": lr}
        if self.learning_rule == "backprop":
            with amp:
                dists, canvas = self.rollout(target_u8)
                dists = dists.float()
                loss = dists.mean() + self.final_weight * dists[-1].mean()
            loss.backward()
        else:
            with amp:
                loss, critic_loss, dists, canvas = self._critic_losses(target_u8)
            policy.critic_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            critic_params = list(policy.critic.parameters())
            for p in critic_params:  # the actor's loss must not move the critic
                p.grad = None
            critic_loss.backward()
            self._average_gradients(critic_params)
            torch.nn.utils.clip_grad_norm_(critic_params, self.max_grad_norm)
            policy.critic_optimizer.step()
            soft_update(policy.critic_target, policy.critic, self.tau)
            stats["critic_loss"] = float(critic_loss.detach())
        self._average_gradients(actor_params)
        grad_norm = torch.nn.utils.clip_grad_norm_(actor_params, self.max_grad_norm)
        policy.optimizer.step()
        self._n_updates += 1
        final = dists[-1].detach().float()
        stats.update(
            loss=float(loss.detach()),
            final_distance=float(final.mean()),
            grad_norm=float(grad_norm),
        )
        return {**stats, "_final": final, "_target": target_u8, "_canvas": canvas.detach()}

    def _sync_states(self) -> None:
        """All processes' target-generator states, for the checkpoint (rank 0 writes it)."""
        state = self._run.rng.bit_generator.state
        rank, world = _dist()
        if world == 1:
            self.rng_states = [copy.deepcopy(state)]
            return
        import torch.distributed as dist

        gathered: list[Any] = [None] * world
        dist.all_gather_object(gathered, state)
        self.rng_states = gathered

    def _agree(self, keep_going: bool) -> bool:
        """Every process stops when any callback on any process asks to."""
        _, world = _dist()
        if world == 1:
            return keep_going
        import torch.distributed as dist

        flag = torch.tensor([1.0 if keep_going else 0.0], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item() > 0.5)

    def _broadcast_parameters(self) -> None:
        _, world = _dist()
        if world == 1:
            return
        import torch.distributed as dist

        with torch.no_grad():
            for t in [*self.policy.parameters(), *self.policy.buffers()]:
                dist.broadcast(t.data, src=0)

    def learn(
        self,
        total_timesteps: int,
        callback=None,
        log_interval: int = 10,
        tb_log_name: str = "ThroughPainter",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> ThroughPainter:
        """Train for ``total_timesteps`` env steps (whole episodes, all processes together).

        A model from :func:`agents.load_agent` without an env trains on
        ``Painting-v0(**model.env_kwargs)``."""
        if self.env is None and getattr(self, "env_kwargs", None) is not None:
            import gymnasium as gym

            import painting_env  # noqa: F401  (registers Painting-v0)

            self.set_env(gym.make("Painting-v0", **self.env_kwargs))
        total, callback = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar
        )
        run = self._painting()
        self._broadcast_parameters()
        _, world = _dist()
        per_episode = run.max_strokes // run.k
        per_update = self.batch_size * per_episode * world
        callback.on_training_start(locals(), globals())
        t0, n0 = time.perf_counter(), self.num_timesteps
        while self.num_timesteps < total:
            callback.on_rollout_start()
            stats = self.train_step(per_update)
            self.num_timesteps += per_update
            self._episode_num += self.batch_size * world
            self._update_current_progress_remaining(self.num_timesteps, total)
            self._sync_states()
            with torch.no_grad():
                target = stats["_target"] / 255.0
                initial = run.distance(run.blank.expand(len(target), -1, -1, -1), target)
            for d0, d in zip(initial.tolist(), stats["_final"].tolist(), strict=True):
                self.ep_info_buffer.append({"r": d0 - d, "l": per_episode})
            callback.update_locals(locals())
            keep_going = self._agree(callback.on_step())
            callback.on_rollout_end()
            last = not keep_going or self.num_timesteps >= total
            if log_interval and self._n_updates % log_interval == 0 or last:
                self._log(stats, t0, n0, per_episode)
            if not keep_going:
                break
        callback.on_training_end()
        return self

    def _log(self, stats: dict[str, Any], t0: float, n0: int, per_episode: int) -> None:
        elapsed = max(time.perf_counter() - t0, 1e-9)
        for key, value in stats.items():
            if not key.startswith("_"):
                self.logger.record(f"train/{key}", value)
        self.logger.record("train/n_updates", self._n_updates)
        if self.ep_info_buffer:
            self.logger.record(
                "rollout/ep_rew_mean", safe_mean([e["r"] for e in self.ep_info_buffer])
            )
        self.logger.record("time/episodes_per_s", (self.num_timesteps - n0) / per_episode / elapsed)
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        if self.image_interval and self._n_updates >= getattr(self._run, "next_image", 0):
            self._run.next_image = self._n_updates + self.image_interval
            grid = painting_pairs(stats["_target"] / 255.0, stats["_canvas"])
            self.logger.record(
                "images/painting", Image(grid, "CHW"), exclude=("stdout", "log", "json", "csv")
            )
        self.logger.dump(step=self.num_timesteps)

    def save(self, path, exclude=None, include=None) -> None:
        if not self.rng_states:
            self.rng_states = [copy.deepcopy(self._run.rng.bit_generator.state)]
        super().save(path, exclude=exclude, include=include)


def painting_pairs(targets: torch.Tensor, canvases: torch.Tensor, n: int = 8) -> torch.Tensor:
    """A CHW grid for TensorBoard: rows of four (target | painting) pairs, ``n`` pairs."""
    pairs = torch.cat([targets[:n], canvases[:n]], dim=3).float().cpu()  # (n, 3, H, 2W)
    rows = [torch.cat(list(pairs[i : i + 4]), dim=2) for i in range(0, len(pairs), 4)]
    width = max(r.shape[2] for r in rows)
    rows = [torch.nn.functional.pad(r, (0, width - r.shape[2]), value=1.0) for r in rows]
    return torch.cat(rows, dim=1).clamp(0, 1)
