"""jointfit plugin: catalogue photometry through filter curves (3ML's ``PhotometryLike``)."""

from .observation import PhotometricObservation, UpperLimit
from .plugin import PhotometryLike

__all__ = ["PhotometryLike", "PhotometricObservation", "UpperLimit"]
