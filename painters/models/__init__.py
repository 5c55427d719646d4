"""Neural painters: differentiable stand-ins for the real brush.

Every kind maps actions (B, 12) in [0, 1] to straight-alpha RGBA strokes (B, 4, 64, 64).
"""

from painters.models.base import PAINTER_KINDS, NeuralPainter, register_painter
from painters.models.gan import GANPainter
from painters.models.structured import StructuredPainter
from painters.models.supervised import SupervisedPainter
from painters.models.vae import VAEPainter

__all__ = [
    "PAINTER_KINDS",
    "GANPainter",
    "NeuralPainter",
    "StructuredPainter",
    "SupervisedPainter",
    "VAEPainter",
    "register_painter",
]
