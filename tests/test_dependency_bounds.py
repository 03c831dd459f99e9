"""Dependency ranges: the lower bounds in every pyproject.toml are the versions that
constraints/lowest.txt pins (the set `make test` installs), and every package agrees
on the Pythons it supports."""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints" / "lowest.txt"
PYPROJECTS = [ROOT / "pyproject.toml", *sorted(ROOT.glob("plugins/*/pyproject.toml"))]
OURS = {"jointfit", *(canonicalize_name(tomllib.loads(p.read_text())["project"]["name"]) for p in PYPROJECTS)}


def _requirements() -> list[tuple[str, Requirement]]:
    """(file, requirement) for every direct dependency: each package's dependencies and
    the core's test extra; our own packages left out."""
    found = []
    for path in PYPROJECTS:
        project = tomllib.loads(path.read_text())["project"]
        lines = [*project.get("dependencies", []), *project.get("optional-dependencies", {}).get("test", [])]
        for line in lines:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) not in OURS:
                found.append((str(path.relative_to(ROOT)), requirement))
    return found


def _lower_bounds() -> dict[str, Version]:
    """Each direct dependency's lower bound (``>=``), the same wherever it is named."""
    bounds: dict[str, set[Version]] = {}
    for where, requirement in _requirements():
        lows = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        assert len(lows) == 1, f"{where}: {requirement} needs one lower bound (>=)"
        bounds.setdefault(canonicalize_name(requirement.name), set()).update(lows)
    disagreeing = {name: sorted(map(str, lows)) for name, lows in bounds.items() if len(lows) > 1}
    assert disagreeing == {}, "a dependency named in several pyproject.toml files has several lower bounds"
    return {name: lows.pop() for name, lows in bounds.items()}


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints/lowest.txt pins exactly (name==version): {line!r}"
            assert canonicalize_name(name) not in pins, f"{name} pinned twice"
            pins[canonicalize_name(name)] = Version(version.strip())
    return pins


def test_every_package_supports_the_same_pythons():
    ranges = {str(p.relative_to(ROOT)): tomllib.loads(p.read_text())["project"]["requires-python"]
              for p in PYPROJECTS}
    assert len(set(ranges.values())) == 1, ranges


def test_lowest_constraints_pin_every_lower_bound_and_nothing_else():
    bounds, pins = _lower_bounds(), _pins()
    assert sorted(pins) == sorted(bounds), "constraints/lowest.txt names exactly the direct dependencies"
    assert pins == bounds


def test_the_installed_releases_lie_in_the_ranges_and_at_the_pins_where_pinned():
    """Every direct dependency installed here satisfies its lower bound; in the
    lower-bound environment (`make test` sets JOINTFIT_EXPECT_LOWEST) it is the pin."""
    installed = {name: Version(importlib.metadata.version(name)) for name in _pins()}
    below = {name: str(version) for name, version in installed.items() if version < _lower_bounds()[name]}
    assert below == {}, "installed below their lower bounds"
    if "JOINTFIT_EXPECT_LOWEST" in os.environ:
        assert installed == _pins()  # Version("1.24") == Version("1.24.0")
