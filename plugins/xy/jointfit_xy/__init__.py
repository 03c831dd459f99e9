"""jointfit plugin: fit a spectral model to (x, y) points (3ML's ``XYLike``)."""

from .xylike import XYLike

__all__ = ["XYLike"]
