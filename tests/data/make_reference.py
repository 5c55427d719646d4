"""Writes tests/data/speed_reference.npz: painter strokes and env trajectories of fixed inputs.

The stored file was written by the implementation before the painter and env were optimised
(commit 7803dfa); tests/test_reference_outputs.py, which defines the runs, checks that today's
code still matches it. One entry was stored later: ``gan_alpha``, re-stored when the bundled GAN's
weights changed, by code that matched the previous weights' stored strokes within 3e-7. From the
repository root:
``PYTHONPATH=. python tests/data/make_reference.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent.parent))
from test_reference_outputs import (  # noqa: E402
    OUT,
    painter_outputs,
    single_env_run,
    ssim_env_run,
    vector_env_run,
)

if __name__ == "__main__":
    torch.set_num_threads(1)
    out = {**painter_outputs(), **single_env_run(), **vector_env_run(), **ssim_env_run()}
    np.savez_compressed(OUT, **out)
    print({k: v.shape for k, v in out.items()})
