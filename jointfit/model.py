"""The :class:`Model`: named sources, their parameters, links, summary tables and files."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import LinkError, ModelError, UnknownNameError
from .functions.base import Function, function_from_dict
from .parameter import Link, Parameter
from .sources import ExtendedSource, PointSource, Source

if TYPE_CHECKING:
    import pandas as pd

    from .space import ParameterSpace

__all__ = ["Model", "load_model"]

MODEL_FILE_FORMAT = "jointfit-model"
MODEL_FILE_VERSION = 1


class Model:
    """A model of the sky: ordered, uniquely named sources.

    Parameters are reached by attribute (``model.src1.spectrum.main.Blackbody.kT``)
    or by path (``model["src1.spectrum.main.Blackbody.kT"]``).

    Parameters
    ----------
    *sources : Source
        Point and extended sources; names must be unique.
    """

    def __init__(self, *sources: Source) -> None:
        self._sources: dict[str, Source] = {}
        for source in sources:
            if not isinstance(source, Source):
                raise ModelError(f"Model takes sources (PointSource, ExtendedSource), got {source!r}")
            if source.name in self._sources:
                raise ModelError(f"two sources are named {source.name!r}; source names must be unique")
            self._sources[source.name] = source
        self._check_no_shared_parameters()

    def _check_no_shared_parameters(self) -> None:
        """Refuse parameters reachable under two paths; label each with its path."""
        owner: dict[int, str] = {}
        for path, parameter in self._iter_parameters():
            if id(parameter) in owner:
                raise ModelError(
                    f"{path} and {owner[id(parameter)]} are the same parameter object: one "
                    "function instance is used twice; give each source its own instance and "
                    "use model.link to tie parameters together"
                )
            owner[id(parameter)] = path
            parameter._label = path
        for path, parameter in self._iter_parameters():
            if parameter.link is not None and id(parameter.link.target) not in owner:
                raise LinkError(f"{path} is linked to {parameter.link.target.path}, which is not in this "
                                "model; unlink it or include its source")

    # -- sources ---------------------------------------------------------------------
    @property
    def sources(self) -> dict[str, Source]:
        """All sources by name, in order."""
        return dict(self._sources)

    @property
    def point_sources(self) -> dict[str, PointSource]:
        """Point sources by name."""
        return {k: s for k, s in self._sources.items() if isinstance(s, PointSource)}

    @property
    def extended_sources(self) -> dict[str, ExtendedSource]:
        """Extended sources by name."""
        return {k: s for k, s in self._sources.items() if isinstance(s, ExtendedSource)}

    def __getattr__(self, name: str) -> Source:
        sources = self.__dict__.get("_sources", {})
        if name in sources:
            return sources[name]
        raise UnknownNameError(f"the model has no source or attribute {name!r}; sources: {list(sources)}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._sources))

    def __contains__(self, path: str) -> bool:
        return path in self.parameters

    def __getitem__(self, path: str) -> Parameter:
        parameters = self.parameters
        if path in parameters:
            return parameters[path]
        raise UnknownNameError(f"the model has no parameter {path!r}; see model.parameters for all paths")

    # -- parameters --------------------------------------------------------------------
    def _iter_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for name, source in self._sources.items():
            for relative, parameter in source.parameters().items():
                path = f"{name}.{relative}"
                yield path, parameter
                if parameter.link is not None:
                    function = parameter.link.function
                    for local, aux in function._parameters.items():
                        yield f"{path}.{function.name}.{local}", aux

    @property
    def parameters(self) -> dict[str, Parameter]:
        """Every parameter by path, including those of link functions."""
        return dict(self._iter_parameters())

    @property
    def free_parameters(self) -> dict[str, Parameter]:
        """Free parameters by path (linked parameters are never free)."""
        return {k: p for k, p in self._iter_parameters() if p.free}

    @property
    def fixed_parameters(self) -> dict[str, Parameter]:
        """Fixed parameters by path (neither free nor linked)."""
        return {k: p for k, p in self._iter_parameters() if not p.free and not p.is_linked}

    @property
    def linked_parameters(self) -> dict[str, Parameter]:
        """Linked parameters by path."""
        return {k: p for k, p in self._iter_parameters() if p.is_linked}

    def path_of(self, parameter: Parameter) -> str:
        """The path of ``parameter`` in this model.

        Raises
        ------
        UnknownNameError
            If the parameter does not belong to this model.
        """
        for path, candidate in self._iter_parameters():
            if candidate is parameter:
                return path
        raise UnknownNameError(f"{parameter!r} is not a parameter of this model")

    def _resolve(self, parameter: Parameter | str, role: str) -> tuple[str, Parameter]:
        if isinstance(parameter, str):
            if parameter not in self.parameters:
                raise LinkError(f"{role}: the model has no parameter {parameter!r}")
            return parameter, self.parameters[parameter]
        if not isinstance(parameter, Parameter):
            raise LinkError(f"{role} must be a Parameter or a parameter path, got {parameter!r}")
        try:
            return self.path_of(parameter), parameter
        except UnknownNameError:
            raise LinkError(
                f"{role} {parameter.name!r} is not a parameter of this model (a parameter of "
                "another model, or of a function not in this model, cannot be linked)"
            ) from None

    # -- links ----------------------------------------------------------------------------
    def link(self, parameter: Parameter | str, target: Parameter | str,
             function: Function | None = None, *, link_function: Function | None = None) -> None:
        """Make ``parameter`` equal to ``function(target)``.

        Parameters
        ----------
        parameter, target : Parameter or str
            Parameters of this model (objects or paths).
        function : Function, optional
            A one-argument function; default ``Line(a=0, b=1)`` (identity). Its
            parameters become model parameters with paths
            ``<parameter path>.<function name>.<name>``, fixed; free them to fit them.
        link_function : Function, optional
            astromodels' name for ``function``.

        Raises
        ------
        LinkError
            For a self-link, a parameter outside this model, or a cycle of links.
        """
        self._link(parameter, target, function if link_function is None else link_function, fix_function=True)

    def _link(self, parameter: Parameter | str, target: Parameter | str, function: Function | None,
              fix_function: bool) -> None:
        from .functions.base import SpectralFunction
        from .functions.spectral import Line

        path, parameter = self._resolve(parameter, "the parameter to link")
        target_path, target = self._resolve(target, "the link target")
        own = self._source_parameters()
        for role, candidate_path, candidate in (("link", path, parameter), ("link to", target_path, target)):
            if id(candidate) not in own:
                raise LinkError(f"cannot {role} {candidate_path}: it is a parameter of a link function "
                                "(link the sources' parameters instead)")
        if parameter is target:
            raise LinkError(f"cannot link {path} to itself")
        if function is None:
            function = Line(a=0.0, b=1.0)
        if not isinstance(function, SpectralFunction):
            raise LinkError(f"link function for {path} must be a one-variable function such as Line(), "
                            f"got {function!r}")
        if any("." in p.path for p in function._parameters.values()):
            raise LinkError(f"the link function {function!r} is already used by a model; pass a new instance")
        chain = self._dependency_path(target, parameter)
        if chain is not None:
            names = " -> ".join([path, *(self.path_of(p) for p in chain)])
            raise LinkError(f"linking {path} to {target_path} would make a cycle: {names}")
        function.set_units(target.unit, parameter.unit)  # y = f(x): x the target, y this parameter
        for local, aux in function._parameters.items():
            if fix_function:
                aux.free = False
            aux._label = f"{path}.{function.name}.{local}"
        parameter._link = Link(target, function)

    def _source_parameters(self) -> set[int]:
        """Identities of the sources' own parameters (not those of link functions)."""
        return {id(p) for source in self._sources.values() for p in source.parameters().values()}

    def _dependency_path(self, start: Parameter, goal: Parameter) -> list[Parameter] | None:
        """Parameters from ``start`` to ``goal`` following links, or None if unreachable."""
        stack: list[tuple[Parameter, list[Parameter]]] = [(start, [start])]
        seen: set[int] = set()
        while stack:
            current, trail = stack.pop()
            if current is goal:
                return trail
            if id(current) in seen or current.link is None:
                continue
            seen.add(id(current))
            for dependency in (current.link.target, *current.link.function._parameters.values()):
                stack.append((dependency, [*trail, dependency]))
        return None

    def unlink(self, parameter: Parameter | str) -> None:
        """Remove the link of ``parameter``; it keeps its current (linked) value if that
        lies within its bounds."""
        path, parameter = self._resolve(parameter, "the parameter to unlink")
        if parameter.link is None:
            raise LinkError(f"{path} is not linked")
        current = parameter.value
        parameter._link = None
        low, high = parameter.bounds
        if (low is None or current >= low) and (high is None or current <= high):
            parameter._value = current

    # -- summary ------------------------------------------------------------------------
    def parameter_table(self, which: str = "free") -> pd.DataFrame:
        """Parameters as a pandas table with columns value, min_value, max_value, unit.

        Parameters
        ----------
        which : {"free", "fixed", "linked", "all"}
        """
        import pandas as pd

        selections = {"free": self.free_parameters, "fixed": self.fixed_parameters,
                      "linked": self.linked_parameters, "all": self.parameters}
        if which not in selections:
            raise ModelError(f"which must be one of {sorted(selections)}, got {which!r}")
        rows = {}
        for path, p in selections[which].items():
            row = {"value": p.value, "min_value": p.min_value, "max_value": p.max_value,
                   "unit": p.unit.to_string()}
            if which in ("free", "all"):
                row["prior"] = repr(p.prior) if p.prior is not None else None
            if which in ("linked", "all") and p.link is not None:
                row["function"] = p.link.function.name
                row["linked to"] = self.path_of(p.link.target)
            rows[path] = row
        columns = ["value", "min_value", "max_value", "unit"]
        if which in ("free", "all"):
            columns.append("prior")
        if which in ("linked", "all"):
            columns += ["function", "linked to"]
        table = pd.DataFrame(index=list(rows), columns=columns, dtype=object)
        for path, row in rows.items():
            for column in columns:
                table.at[path, column] = row.get(column)
        return table

    def _summary_sections(self) -> list[tuple[str, Any]]:
        counts = (f"Point sources: {len(self.point_sources)}\n"
                  f"Extended sources: {len(self.extended_sources)}")
        return [
            ("Model summary", counts),
            (f"Free parameters ({len(self.free_parameters)})", self.parameter_table("free")),
            (f"Fixed parameters ({len(self.fixed_parameters)})", self.parameter_table("fixed")),
            (f"Linked parameters ({len(self.linked_parameters)})", self.parameter_table("linked")),
        ]

    def __repr__(self) -> str:
        parts = []
        for title, body in self._summary_sections():
            text = body if isinstance(body, str) else (body.to_string() if len(body) else "(none)")
            parts.append(f"{title}:\n{text}")
        return "\n\n".join(parts)

    def _repr_html_(self) -> str:
        parts = []
        for title, body in self._summary_sections():
            html = (body.replace("\n", "<br>") if isinstance(body, str)
                    else (body.to_html() if len(body) else "<p>(none)</p>"))
            parts.append(f"<h4>{title}</h4>{html}")
        return "\n".join(parts)

    def display(self) -> None:
        """Show the summary (rich HTML in a notebook, text elsewhere)."""
        try:
            from IPython import get_ipython
            from IPython.display import HTML
            from IPython.display import display as ipython_display

            if get_ipython() is not None:
                ipython_display(HTML(self._repr_html_()))
                return
        except ImportError:
            pass
        print(repr(self))

    # -- files ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The whole model as plain data (what :meth:`save` writes)."""
        links = []
        for path, parameter in self.linked_parameters.items():
            assert parameter.link is not None
            links.append({
                "parameter": path,
                "target": self.path_of(parameter.link.target),
                "function": parameter.link.function.to_dict(),
            })
        return {
            "format": MODEL_FILE_FORMAT,
            "version": MODEL_FILE_VERSION,
            "sources": [source.to_dict() for source in self._sources.values()],
            "links": links,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Model:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, Mapping) or data.get("format") != MODEL_FILE_FORMAT:
            raise ModelError(f"not a jointfit model: expected format: {MODEL_FILE_FORMAT!r}")
        if data.get("version") != MODEL_FILE_VERSION:
            raise ModelError(f"model file version {data.get('version')!r} is not supported "
                             f"(this jointfit reads version {MODEL_FILE_VERSION})")
        try:
            model = cls(*(Source.from_dict(item) for item in data.get("sources", [])))
            for item in data.get("links", []):
                parameter, target = model[item["parameter"]], model[item["target"]]
                function = function_from_dict(item["function"], x_unit=target.unit, y_unit=parameter.unit)
                model._link(parameter, target, function, fix_function=False)  # keep the file's free flags
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ModelError):
                raise
            raise ModelError(f"not a valid jointfit model: missing or malformed entry {exc}") from None
        return model

    def to_yaml(self) -> str:
        """The model as YAML text; floats are written so that they read back bit-exact."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)

    @classmethod
    def from_yaml(cls, text: str) -> Model:
        """Inverse of :meth:`to_yaml`.

        Raises
        ------
        ModelError
            If the text is not valid YAML or not a jointfit model.
        """
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ModelError(f"model text is not valid YAML: {exc}") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Write the model to a YAML file and return its path (as results' ``write``).

        Raises
        ------
        ModelError
            If ``path`` exists and ``overwrite`` is false.
        """
        if os.path.exists(path) and not overwrite:
            raise ModelError(f"{os.fspath(path)!r} exists; pass overwrite=True to replace it")
        text = self.to_yaml()
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return Path(path)

    def clone(self) -> Model:
        """An independent deep copy, links included."""
        return copy.deepcopy(self)

    # -- compilation -----------------------------------------------------------------------
    def compile(self, extra_parameters: Mapping[str, Parameter] | None = None) -> ParameterSpace:
        """Freeze the current state into a :class:`~jointfit.space.ParameterSpace`.

        Parameters
        ----------
        extra_parameters : mapping of path to Parameter, optional
            Parameters outside the sky model (plugins' nuisance parameters).
        """
        from .space import ParameterSpace

        return ParameterSpace(self, extra_parameters or {})


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read a model written by :meth:`Model.save`.

    Raises
    ------
    ModelError
        If the file is not valid YAML or not a jointfit model.
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as stream:
            data = yaml.safe_load(stream)
    except yaml.YAMLError as exc:
        raise ModelError(f"{os.fspath(path)!r} is not valid YAML: {exc}") from None
    except FileNotFoundError:
        raise ModelError(f"model file {os.fspath(path)!r} does not exist") from None
    try:
        return Model.from_dict(data)
    except ModelError as exc:
        raise type(exc)(f"{os.fspath(path)!r}: {exc}") from None
