"""Average the weights of several SB3 checkpoints of one run (stochastic weight averaging).

A model-free run's policy swings between checkpoints; the mean of the last few checkpoints'
weights is steadier and usually better than any one of them (the bundled ``sac-model-free`` is
the mean of 8). Only the zips' tensors are read (``torch.load(..., weights_only=True)``) and
averaged; every other member (hyperparameters, optimiser states) is copied from the newest
checkpoint, so nothing is unpickled and the result loads like any checkpoint of the run::

    python -m agents.rl.averaging runs/mf/averaged.zip runs/mf/checkpoints/step_*.zip
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import zipfile
from pathlib import Path

import torch

from painters.io import atomic_write, first_line

#: Zip members holding the networks (and SAC's entropy coefficient) that are averaged.
AVERAGED = ("policy.pth", "pytorch_variables.pth")


def _tensors(zf: zipfile.ZipFile, name: str) -> dict[str, torch.Tensor]:
    return torch.load(io.BytesIO(zf.read(name)), map_location="cpu", weights_only=True)


def average_checkpoints(checkpoints: list[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Write to ``out`` the checkpoint whose float tensors are the mean of ``checkpoints``'
    (SB3 zips of the same run, oldest first); other members come from the last one."""
    paths = [Path(p) for p in checkpoints]
    if len(paths) < 1:
        raise ValueError("give at least one checkpoint to average")
    for p in paths:
        if not zipfile.is_zipfile(p):
            raise ValueError(f"{p} is not an SB3 model zip; give the run's checkpoints/*.zip")
    zips = [zipfile.ZipFile(p) for p in paths]
    try:
        newest = zips[-1]
        merged: dict[str, bytes] = {}
        for name in AVERAGED:
            if name not in newest.namelist():
                continue
            states = [_tensors(z, name) for z in zips]
            keys = set(states[-1])
            if any(set(s) != keys for s in states):
                raise ValueError(f"{name} differs between the checkpoints: not one run's")
            mean = {}
            for k, v in states[-1].items():
                if v.is_floating_point():
                    if any(s[k].shape != v.shape for s in states):
                        raise ValueError(f"{name}:{k} differs in shape: not one run's checkpoints")
                    mean[k] = sum(s[k] for s in states) / len(states)
                else:
                    mean[k] = v
            buf = io.BytesIO()
            torch.save(mean, buf)
            merged[name] = buf.getvalue()

        def write(f: io.BufferedIOBase) -> None:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as dst:
                for info in newest.infolist():
                    name = info.filename
                    data = merged[name] if name in merged else newest.read(name)
                    dst.writestr(name, data)

        return atomic_write(out, write)
    finally:
        for z in zips:
            z.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="the averaged checkpoint (.zip) to write")
    p.add_argument("checkpoints", nargs="+", help="SB3 zips of one run, oldest first")
    args = p.parse_args(argv)
    try:
        average_checkpoints(args.checkpoints, args.out)
    except (ValueError, OSError) as e:
        print(f"average: {first_line(e)}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: mean of {len(args.checkpoints)} checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
