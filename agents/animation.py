"""GIF animations of a painting: stroke by stroke, and over the optimisation steps.

The writer lives in :mod:`painters.gif` (the one GIF writer of the project); these names stay
importable from here.
"""

from __future__ import annotations

from painters.gif import MAX_FRAMES, frame_indices, write_gif

__all__ = ["MAX_FRAMES", "frame_indices", "write_gif"]
