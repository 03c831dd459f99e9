"""Structure shared between sources: AstroPhot's equality constraints as model links."""

from __future__ import annotations

from collections.abc import Sequence

from jointfit import Model
from jointfit.errors import ModelError

__all__ = ["share_structure"]


def _parameter_path(model: Model, source_name: str, parameter: str) -> str:
    if source_name not in model.sources:
        raise ModelError(f"share_structure: the model has no source {source_name!r}; it has {sorted(model.sources)}")
    source = model.sources[source_name]
    shape = getattr(source, "spatial_shape", None)
    prefix = f"{source_name}.position." if shape is None else f"{source_name}.{shape.name}."
    path = prefix + parameter
    if path not in model.parameters:
        raise ModelError(f"share_structure: source {source_name!r} has no parameter {parameter!r} "
                         f"(looked for {path!r})")
    return path


def share_structure(model: Model, leader: str, *followers: str,
                    parameters: Sequence[str] = ("ra", "dec", "q", "PA")) -> None:
    """Link ``parameters`` of each follower's shape (or position, for point sources) to
    the leader's: one galaxy modelled with a different profile per band (a spline in
    one, a Sérsic in others) keeps one centre, axis ratio and position angle; a
    supernova seen at several epochs keeps one position (``parameters=("ra", "dec")``).

    Parameters
    ----------
    model : Model
        The model holding the sources.
    leader : str
        Source whose parameters stay free.
    *followers : str
        Sources whose parameters become equal to the leader's.
    parameters : sequence of str
        Shape (or position) parameter names, e.g. ``("ra", "dec", "q", "PA")``.

    Raises
    ------
    ModelError
        If a source or one of its parameters does not exist.
    """
    for follower in followers:
        for parameter in parameters:
            model.link(_parameter_path(model, follower, parameter), _parameter_path(model, leader, parameter))
