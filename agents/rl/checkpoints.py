"""Checkpoints that resume a run exactly: the same updates and the same weights as a run that
was never stopped.

A checkpoint (``OUT/checkpoints``) is written at the start of a rollout, after the previous
gradient updates, so the model, its optimisers and the replay buffer agree on the step count
(saving inside ``on_step`` would miss the step's transition and its update). Besides the
model zip and the replay buffer it holds ``latest_state.npz``: the random states that decide
what happens next (torch's, NumPy's, Python's, the action space's) and the env's, all as plain
arrays and JSON (nothing is pickled).

The env's state is kept cheaply by checkpointing at an *episode boundary*: the batched painting
env ends every sub-env's episode in the same step, so just after it each canvas is blank and each
target was drawn from the sub-env's generator. The checkpoint stores those generators' states
from before that step; resuming restores them and resets the env, which draws the same targets,
so the first observation after a resume is bit for bit the one the uninterrupted run saw. A
checkpoint therefore comes at the first episode boundary after every ``freq`` env steps (an
episode is ``max_strokes / strokes_per_step`` vector steps). At the end of training the
checkpoint is written only at a boundary (otherwise the last boundary's checkpoint stays, and a
resume replays the few steps since). For envs without this state (not the batched painting env)
the checkpoint resumes with a fresh env reset, as close as it gets but not exact.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from agents.rl.sb3_zip import resume_model
from painters.io import atomic_write, atomic_write_bytes, first_line

#: The checkpoint's replay buffer: plain arrays (agents.rl.buffers), never a pickle.
REPLAY_BUFFER_NAME = "latest_replay_buffer.npz"
#: The checkpoint's random and env state (plain arrays and JSON).
STATE_NAME = "latest_state.npz"


def save_model(model: BaseAlgorithm, path: Path) -> None:
    """``model.save`` to a temp file, then an atomic rename (a kill never leaves half a zip)."""
    atomic_write(path, model.save, fsync=True)


def _env_chain(model: BaseAlgorithm) -> list[Any]:
    chain = [model.get_env()]
    while chain[-1] is not None and hasattr(chain[-1], "venv"):
        chain.append(chain[-1].venv)
    return chain


def _env_generators(model: BaseAlgorithm) -> list[np.random.Generator] | None:
    """The batched painting env's per-sub-env generators (``None`` for other envs)."""
    rngs = getattr(_env_chain(model)[-1], "_rngs", None)
    if not isinstance(rngs, list) or not all(isinstance(g, np.random.Generator) for g in rngs):
        return None
    return rngs


def env_rng_states(model: BaseAlgorithm) -> list[dict] | None:
    """The states of the env's generators, or ``None`` when the env has none to keep."""
    rngs = _env_generators(model)
    return None if rngs is None else [g.bit_generator.state for g in rngs]


def _generator(state: dict) -> np.random.Generator:
    bit = getattr(np.random, state["bit_generator"])()
    bit.state = state
    return np.random.Generator(bit)


def save_state(model: BaseAlgorithm, path: Path, env_states: list[dict] | None) -> Path:
    """Write the random states (and ``env_states``, the env's generators before the episodes
    now starting) to ``path`` atomically."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    meta = {
        "num_timesteps": int(model.num_timesteps),
        "n_updates": int(getattr(model, "_n_updates", 0)),
        "numpy": {"pos": int(np_state[2]), "has_gauss": int(np_state[3]),
                  "cached_gaussian": float(np_state[4])},
        "python": {"version": py_state[0], "gauss": py_state[2]},
        "action_space": model.action_space.np_random.bit_generator.state,
        "env": env_states,
    }  # fmt: skip
    arrays = {
        "torch": torch.get_rng_state().numpy(),
        "numpy_keys": np.asarray(np_state[1], np.uint32),
        "python": np.asarray(py_state[1], np.int64),
        "meta": np.asarray(json.dumps(meta)),
    }
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            arrays[f"cuda_{i}"] = s.numpy()
    return atomic_write(path, lambda f: np.savez(f, **arrays), fsync=True)


def read_state(path: Path) -> dict[str, Any] | None:
    """The saved state at ``path`` (``None`` when there is none); ``ValueError`` when damaged."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            data: dict[str, Any] = {k: z[k] for k in z.files}
        data["meta"] = json.loads(str(data["meta"]))
    except Exception as e:  # damaged zip, missing member, bad JSON
        raise ValueError(
            f"cannot resume from {path} ({first_line(e)}); delete it to resume without the "
            "random state, or drop --resume"
        ) from None
    return data


def restore_env(model: BaseAlgorithm, state: dict[str, Any]) -> bool:
    """Reset ``model``'s env to the episodes the checkpoint was taken at (its generators as
    they were before those episodes' targets were drawn); ``False`` when it cannot."""
    env_states = state["meta"].get("env")
    chain = _env_chain(model)
    rngs = getattr(chain[-1], "_rngs", None)  # [None, ...] before the first reset
    if env_states is None or not isinstance(rngs, list) or len(rngs) != len(env_states):
        return False
    chain[-1]._rngs = [_generator(s) for s in env_states]
    for layer in chain:
        if hasattr(layer, "_reset_seeds"):
            layer._reset_seeds()  # no pending seeds: the reset uses the restored generators
    model._last_obs = model.get_env().reset()
    model._last_episode_starts = np.ones(model.get_env().num_envs, dtype=bool)
    return True


def restore_random(model: BaseAlgorithm, state: dict[str, Any]) -> None:
    """Restore every random state saved with the checkpoint. Called as training starts, after
    the envs, callbacks and painters (whose weights are drawn from torch's generator) exist."""
    meta = state["meta"]
    torch.set_rng_state(torch.from_numpy(state["torch"]))
    np_meta = meta["numpy"]
    np.random.set_state(("MT19937", state["numpy_keys"], np_meta["pos"], np_meta["has_gauss"],
                         np_meta["cached_gaussian"]))  # fmt: skip
    py = meta["python"]
    random.setstate((py["version"], tuple(int(v) for v in state["python"]), py["gauss"]))
    model.action_space.np_random.bit_generator.state = meta["action_space"]
    if torch.cuda.is_available():
        states = [torch.from_numpy(state[k]) for k in sorted(state) if k.startswith("cuda_")]
        if states:
            torch.cuda.set_rng_state_all(states)


def resume_run(
    ckpt: Path, fresh: BaseAlgorithm, env: Any, *, device: Any, tensorboard_log: str | None
) -> tuple[BaseAlgorithm, dict[str, Any] | None]:
    """The run checkpointed in ``ckpt`` (``latest.zip``, its replay buffer and random state)
    on ``env``, rebuilt on ``fresh`` (a model just built from this run's hyperparameters) and
    plain arrays (:func:`agents.rl.sb3_zip.resume_model`): nothing is unpickled, so a replay
    buffer pickled by an older version is left unread. Returns the model and the saved random
    state, for :class:`CheckpointCallback` to restore as training starts."""
    from agents.rl.buffers import load_replay_buffer

    model = resume_model(ckpt, fresh, env, device=device, tensorboard_log=tensorboard_log)
    buf = ckpt.with_name(REPLAY_BUFFER_NAME)
    if getattr(model, "replay_buffer", None) is not None:
        if buf.is_file():
            load_replay_buffer(model.replay_buffer, buf)
        elif ckpt.with_name("latest_replay_buffer.pkl").is_file():
            print(
                f"note: not loading {ckpt.with_name('latest_replay_buffer.pkl')} (pickled, which "
                "could run code); resuming with an empty replay buffer",
                file=sys.stderr,
            )
    state = read_state(ckpt.with_name(STATE_NAME))
    if state is None or state["meta"].get("num_timesteps") != int(model.num_timesteps):
        print(
            f"note: {ckpt} has no matching {STATE_NAME} (an older checkpoint): the run continues "
            "from it, but not bit for bit as an uninterrupted run would",
            file=sys.stderr,
        )
        state = None
    elif not restore_env(model, state):
        print(f"note: the env's state is not restored from {ckpt}; it starts new episodes")
    return model, state


class CheckpointCallback(BaseCallback):
    """At the first episode boundary after every ``freq`` env steps, saves
    ``checkpoints/latest.zip`` with its replay buffer (off-policy algorithms) and random state,
    atomically, replacing the previous one: enough to resume exactly after a kill without
    filling the disk with gigabyte-sized buffers (see the module docstring). With ``keep`` > 0
    the last ``keep`` models are also kept as ``step_<env steps>.zip`` (no buffers), for
    :mod:`agents.rl.averaging`.
    """

    def __init__(
        self,
        folder: Path,
        freq: int,
        save_replay_buffer: bool = True,
        keep: int = 0,
        resume_state: dict[str, Any] | None = None,
    ) -> None:
        """``resume_state`` (from :func:`resume_run`) is restored as training starts: pass
        this callback last in the list, so every other one has started by then."""
        super().__init__()
        self.folder, self.freq = Path(folder), max(1, int(freq))
        self.save_replay_buffer = save_replay_buffer
        self.keep = int(keep)
        self._next = self.freq
        self._before: list[dict] | None = None  # env generators before the last step
        self._after: list[dict] | None = None  # ... and after it
        self._resume_state = resume_state

    def _init_callback(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._next = (self.num_timesteps // self.freq + 1) * self.freq
        self._before, self._after = None, env_rng_states(self.model)

    def _on_training_start(self) -> None:
        if self._resume_state is not None:
            restore_random(self.model, self._resume_state)
            self._resume_state = None

    def _boundary(self) -> bool:
        starts = getattr(self.model, "_last_episode_starts", None)
        return self.num_timesteps > 0 and starts is not None and bool(np.all(starts))

    def save(self, env_states: list[dict] | None = None) -> None:
        """Write the checkpoint now: buffer and state first, the model zip last (a zip always
        has a matching buffer and state)."""
        if self.save_replay_buffer and getattr(self.model, "replay_buffer", None) is not None:
            from agents.rl.buffers import save_replay_buffer

            save_replay_buffer(self.model.replay_buffer, self.folder / REPLAY_BUFFER_NAME)
        save_state(self.model, self.folder / STATE_NAME, env_states)
        save_model(self.model, self.folder / "latest.zip")
        if self.keep > 0:
            data = (self.folder / "latest.zip").read_bytes()
            atomic_write_bytes(self.folder / f"step_{self.num_timesteps:010d}.zip", data)
            for old in sorted(self.folder.glob("step_*.zip"))[: -self.keep]:
                old.unlink()

    def _save_if_exact(self) -> bool:
        """Save when this is an episode boundary (or the env has no state to keep)."""
        if self._after is None:  # not the batched painting env: no env state to keep
            self.save(None)
            return True
        if self._boundary() and self._before is not None:
            self.save(self._before)
            return True
        return False

    def _on_step(self) -> bool:
        if self._after is not None:
            self._before, self._after = self._after, env_rng_states(self.model)
        return True

    def _on_rollout_start(self) -> None:
        if self.num_timesteps >= self._next and self._save_if_exact():
            self._next = (self.num_timesteps // self.freq + 1) * self.freq

    def _on_training_end(self) -> None:
        if not self._save_if_exact() and not (self.folder / "latest.zip").is_file():
            self.save(None)  # better an inexact checkpoint than none
