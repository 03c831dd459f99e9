"""The plugin contract and entry-point discovery."""

from __future__ import annotations

import importlib.metadata

import jax.numpy as jnp
import pytest

import jointfit
from jointfit import Parameter, Plugin, Uniform_prior, available_plugins, load_plugin
from jointfit.errors import PluginError
from jointfit.examples.point_source_fluxes import build_model


class ConstantOffset(Plugin):
    """A minimal third-party-style plugin with a nuisance parameter."""

    def __init__(self, name):
        super().__init__(name)
        self._add_nuisance_parameter(Parameter("offset", 0.0, bounds=(-1, 1), prior=Uniform_prior(-1, 1)))

    def _setup(self, space):
        self._spectrum = self._source_spectrum(space)

    def pointwise_loglike(self, values):
        flux = self._spectrum(jnp.array([10.0, 100.0]), values)
        return -0.5 * (flux - values[f"{self.name}.offset"]) ** 2

    def simulate(self, values, key):
        return self._spectrum(jnp.array([10.0, 100.0]), values)


def test_xy_plugin_is_discovered_through_entry_points_lazily():
    assert "XYLike" in available_plugins()
    assert load_plugin("XYLike").__module__ == "jointfit_xy.xylike"
    assert jointfit.XYLike is load_plugin("XYLike")
    assert "XYLike" in dir(jointfit)


def test_unknown_or_broken_plugins_raise_plugin_errors(monkeypatch):
    with pytest.raises(PluginError, match="no installed plugin is called 'Nope'"):
        load_plugin("Nope")
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        jointfit.Nope  # noqa: B018
    broken = importlib.metadata.EntryPoint("Broken", "jointfit_no_such_module:Thing", "jointfit.plugins")
    not_a_plugin = importlib.metadata.EntryPoint("NotAPlugin", "math:sqrt", "jointfit.plugins")
    monkeypatch.setattr(jointfit.plugin, "available_plugins",
                        lambda: {"Broken": broken, "NotAPlugin": not_a_plugin})
    with pytest.raises(PluginError, match="'Broken' failed to import: ModuleNotFoundError"):
        load_plugin("Broken")
    with pytest.raises(PluginError, match="not a jointfit Plugin class"):
        load_plugin("NotAPlugin")


def test_nuisance_parameters_enter_the_space_and_the_loglike():
    plugin = ConstantOffset("s1")
    assert list(plugin.nuisance_parameters) == ["s1.offset"]
    model = build_model()
    with pytest.raises(PluginError, match="extra_parameters=plugin.nuisance_parameters"):
        plugin.setup(model.compile())
    space = model.compile(extra_parameters=plugin.nuisance_parameters)
    loglike = plugin.setup(space)
    theta = space.initial_theta.at[-1].set(0.5)
    values = space.unpack(theta)
    assert float(loglike(values)) == pytest.approx(float(jnp.sum(plugin.pointwise_loglike(values))))
    assert space.free_names[-1] == "s1.offset"


def test_assign_to_source_accepts_names_and_lists():
    plugin = ConstantOffset("s1")
    assert plugin.assigned_sources is None
    plugin.assign_to_source("src1", "src2")
    assert plugin.assigned_sources == ("src1", "src2")
    plugin.assign_to_source(["src2"])
    assert plugin.assigned_sources == ("src2",)
    with pytest.raises(PluginError, match="needs source names"):
        plugin.assign_to_source()


def test_assign_to_source_refuses_non_names():
    with pytest.raises(PluginError, match="needs source names"):
        ConstantOffset("s1").assign_to_source(5)
