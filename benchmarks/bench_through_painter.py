"""ThroughPainter: training speed on 1 and N processes, and what a short run paints.

    python benchmarks/bench_through_painter.py speed --procs 1,2 --updates 4
    python benchmarks/bench_through_painter.py quality --seconds 240 --threads 2
    python benchmarks/bench_through_painter.py quality --seconds 240 --rule critic
    python benchmarks/bench_through_painter.py quality --agent default --seconds 60
    python benchmarks/bench_through_painter.py quality --algo sac --seconds 240 --clock cpu

``speed`` prints episodes/s of training (whole 64-stroke episodes, batch 32 per process,
``--rule`` backprop by default; wall-clock rate and rank 0's episodes per CPU second,
gloo data parallelism on CPU, NCCL on GPUs when ``--device cuda``). ``quality`` trains a fresh
``ThroughPainter("MultiInputPolicy", gym.make("Painting-v0", max_strokes=64,
strokes_per_step=8), seed=0)`` (or continues ``--agent``; or, with ``--algo sac|td3|ppo``, a
fresh SB3 model of that algorithm with its bundled recipe on the same env) until a callback
stops ``learn()`` after ``--seconds``, then paints every photo of ``--images`` (its centred
square at 64 px, as the env prepares it) and prints the mean final MSE against the MSE of each
photo's mean colour.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENV_KWARGS = {"max_strokes": 64, "strokes_per_step": 8}


def _photos(folder: str) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".jpg", ".png"))


def evaluate(model, images: list[Path]) -> tuple[float, float]:
    """(mean final MSE of the agent's episodes, mean MSE of the photos' mean colours)."""
    import gymnasium as gym

    import painting_env  # noqa: F401

    finals, means = [], []
    for path in images:
        env = gym.make("Painting-v0", target=str(path), **model.env_kwargs)
        obs, info = env.reset(seed=0)
        done = False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, term, trunc, info = env.step(action)
            done = term or trunc
        finals.append(info["distance"])
        target = obs["target"].astype(np.float64) / 255.0
        means.append(float(((target - target.mean(axis=(0, 1))) ** 2).mean()))
        env.close()
    return float(np.mean(finals)), float(np.mean(means))


def quality(args: argparse.Namespace) -> None:
    import gymnasium as gym
    from stable_baselines3.common.callbacks import BaseCallback

    import painting_env  # noqa: F401
    from agents.rl.loading import load_agent
    from agents.rl.through_painter import ThroughPainter

    torch.set_num_threads(args.threads)
    env = gym.make("Painting-v0", **ENV_KWARGS)
    if args.algo != "through-painter":
        if args.agent:
            raise SystemExit("--agent continues a through-painter agent; drop --algo")
        model = _model_free(args.algo, args.seed)
    elif args.agent:
        model = load_agent(args.agent)
        model.set_env(env)
    else:
        rule = {} if args.rule is None else {"learning_rule": args.rule}
        model = ThroughPainter("MultiInputPolicy", env, seed=args.seed, device="cpu", **rule)
        model.env_kwargs = dict(ENV_KWARGS)
    folders = args.images.split(",")
    images = [p for folder in folders for p in _photos(folder)]
    if args.agent:
        for folder in folders:
            before, mean_colour = evaluate(model, _photos(folder))
            print(
                f"before, {folder}: MSE {before:.5f} ({before / mean_colour:.3f}x the mean colour)"
            )

    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    class StopAfter(BaseCallback):
        def _on_training_start(self) -> None:
            self.t0 = clock()

        def _on_step(self) -> bool:
            return clock() - self.t0 < args.seconds

    load0 = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    model.learn(10**9, callback=StopAfter(), reset_num_timesteps=not args.agent)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    load1 = os.getloadavg()
    if args.save:
        model.save(args.save)
    for folder in folders if len(folders) > 1 else []:
        mse, mean_colour = evaluate(model, _photos(folder))
        print(f"  {folder}: MSE {mse:.5f} = {mse / mean_colour:.3f}x the mean colour")
    mse, mean_colour = evaluate(model, images)
    name = args.agent or "fresh " + getattr(model, "learning_rule", args.algo)
    print(
        f"{name}: {model._n_updates} updates, {model.num_timesteps:,} env steps, "
        f"{model._episode_num} episodes; learn() took {wall:.0f} s wall, {cpu:.0f} s CPU "
        f"({args.threads} threads; load average {load0[0]:.1f} before, {load1[0]:.1f} after): "
        f"MSE {mse:.5f} on {len(images)} photos = {mse / mean_colour:.3f}x the mean colour "
        f"({mean_colour:.5f})"
    )


def _model_free(algo: str, seed: int):
    """A fresh SB3 ``algo`` (sac, td3, ppo) with its bundled recipe (``agents/hyperparams``), on
    the same env as the through-painter's (64 strokes, 8 a step, the env's own targets) in the
    recipe's batched vector env and reward scaling: the model-free rows of an equal budget."""
    from agents.rl.building import make_vec_env
    from agents.rl.training import build_model, fit_to_budget, load_hyperparams
    from agents.rl.zoo_format import apply_vec_env_wrappers

    hp = load_hyperparams(algo)
    n_envs = int(hp.get("n_envs", 8))
    hp = fit_to_budget(algo, hp, 10**7, n_envs)
    env = apply_vec_env_wrappers(make_vec_env(n_envs, seed=seed, **ENV_KWARGS), hp)
    model = build_model(algo, env, hp, seed=seed, device="cpu")
    model.env_kwargs = dict(ENV_KWARGS)
    return model


def _speed_worker(rank: int, world: int, args: argparse.Namespace, port: int, queue) -> None:
    import gymnasium as gym
    import torch.distributed as dist

    import painting_env  # noqa: F401
    from agents.rl.through_painter import ThroughPainter

    torch.set_num_threads(args.threads)
    device = "cpu"
    if world > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        backend = "nccl" if args.device == "cuda" else "gloo"
        dist.init_process_group(backend, rank=rank, world_size=world)
    if args.device == "cuda":
        torch.cuda.set_device(rank)
        device = f"cuda:{rank}"
    env = gym.make("Painting-v0", device=device, **ENV_KWARGS)
    model = ThroughPainter(
        "MultiInputPolicy", env, seed=0, device=device, amp=args.amp, learning_rule=args.rule
    )
    per_update = model.batch_size * 8 * world
    model.learn(per_update)  # warm-up: first calls pay allocation and kernel selection
    if args.device == "cuda":
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    model.learn(per_update * args.updates)
    if args.device == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if rank == 0:
        episodes = args.updates * model.batch_size
        queue.put((episodes * world / wall, episodes / cpu))
    if world > 1:
        dist.destroy_process_group()


def speed(args: argparse.Namespace) -> None:
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    for n in (int(p) for p in args.procs.split(",")):
        queue = ctx.Queue()
        port = 29500 + (os.getpid() % 1000) + n
        mp.start_processes(
            _speed_worker, args=(n, args, port, queue), nprocs=n, join=True, start_method="spawn"
        )
        rate, per_cpu = queue.get()
        print(
            f"{n} process(es), {args.threads} thread(s) each, {args.device}, {args.rule}: "
            f"{rate:.1f} episodes/s ({rate / n:.1f} per process; {per_cpu:.1f} per CPU second "
            "of rank 0)"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("speed", help="episodes/s for 1 and N processes")
    s.add_argument("--procs", default="1,2", help="process counts, comma-separated")
    s.add_argument("--updates", type=int, default=4, help="timed updates per count")
    s.add_argument("--threads", type=int, default=1, help="torch threads per process")
    s.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    s.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    s.add_argument("--rule", default="backprop", choices=["backprop", "critic"])
    q = sub.add_parser("quality", help="MSE on photos after a short learn()")
    q.add_argument("--seconds", type=float, default=240.0, help="learn() wall time")
    q.add_argument("--threads", type=int, default=2, help="torch threads")
    q.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                   help="--seconds of wall time, or of this process's CPU time (equal CPU "
                   "budgets on a busy machine)")  # fmt: skip
    q.add_argument("--rule", default=None, choices=["backprop", "critic"],
                   help="learning rule (default: ThroughPainter's default)")  # fmt: skip
    q.add_argument("--agent", default=None, help="continue this agent instead of a fresh one")
    q.add_argument("--algo", default="through-painter",
                   choices=["through-painter", "sac", "td3", "ppo"],
                   help="a fresh model of this algorithm (sac/td3/ppo: their bundled recipes)")  # fmt: skip
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--save", default=None, help="save the trained model to this zip")
    q.add_argument("--images", default=str(ROOT / "benchmarks" / "images"),
                   help="comma-separated folders of photos")  # fmt: skip
    args = p.parse_args()
    speed(args) if args.mode == "speed" else quality(args)


if __name__ == "__main__":
    main()
