"""Image files in and out for the agents' scripts: :mod:`painters.images` (one loader, one PNG
writer, one resize), re-exported."""

from __future__ import annotations

from painters.images import ImageError, center_square, load_image, resize, save_png

__all__ = ["ImageError", "center_square", "load_image", "resize", "save_png"]
