"""Sources, Model paths and tables, links, YAML files and clones."""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
import pytest

from jointfit import (
    Blackbody,
    Constant,
    ExtendedSource,
    Gaussian,
    Gaussian_on_sphere,
    Line,
    Log_normal,
    Log_uniform_prior,
    Model,
    PointSource,
    Powerlaw,
    Powerlaw_flux,
    Truncated_gaussian,
    Uniform_prior,
    load_model,
)
from jointfit.errors import LinkError, ModelError, ParameterError, PriorError, UnknownNameError
from jointfit.examples.point_source_fluxes import build_model


def seed_model() -> Model:
    """The issue's 3ML snippet, verbatim apart from the import line."""
    spectrum_2 = Blackbody() + Powerlaw_flux(a=10, b=500)
    spectrum_2.K_1.prior = Log_normal(mu=np.log(1e-6), sigma=1)
    spectrum_2.F_2.bounds = (None, None)
    spectrum_2.index_2.prior = Gaussian(mu=-1.0, sigma=1)
    model = Model(PointSource("src1", ra=1, dec=20, spectral_shape=Blackbody()),
                  PointSource("src2", ra=2, dec=-10, spectral_shape=spectrum_2))
    model.link(model.src1.spectrum.main.Blackbody.kT,
               model.src2.spectrum.main.composite.kT_1)
    return model


def test_seed_code_gives_3ml_parameter_tables():
    model = seed_model()
    assert list(model.free_parameters) == [
        "src1.spectrum.main.Blackbody.K",
        "src2.spectrum.main.composite.K_1",
        "src2.spectrum.main.composite.kT_1",
        "src2.spectrum.main.composite.F_2",
        "src2.spectrum.main.composite.index_2",
    ]
    assert list(model.linked_parameters) == ["src1.spectrum.main.Blackbody.kT"]
    # as 3ML: positions, Powerlaw_flux a and b, and the link's Line a and b are fixed
    assert len(model.fixed_parameters) == 8
    assert "src1.spectrum.main.Blackbody.kT.Line.b" in model.fixed_parameters
    table = model.parameter_table("free")
    assert list(table.columns[:4]) == ["value", "min_value", "max_value", "unit"]
    assert table.loc["src2.spectrum.main.composite.F_2", "min_value"] is None
    assert table.loc["src1.spectrum.main.Blackbody.K", "unit"] == u.Unit("1/(cm2 s keV3)").to_string()
    text = repr(model)
    assert "Point sources: 2" in text and "Free parameters (5)" in text and "Linked parameters (1)" in text
    assert "<table" in model._repr_html_()


def test_attribute_and_path_access_reach_the_same_parameter():
    model = seed_model()
    kt = model.src2.spectrum.main.composite.kT_1
    assert model["src2.spectrum.main.composite.kT_1"] is kt
    assert model.src2.spectrum.main.shape.kT_1 is kt
    assert model.src1.position.ra is model["src1.position.ra"]
    assert model.path_of(kt) == "src2.spectrum.main.composite.kT_1"
    with pytest.raises(UnknownNameError, match="no parameter 'src2.spectrum.main.composite.kT_9'"):
        model["src2.spectrum.main.composite.kT_9"]
    with pytest.raises(UnknownNameError, match="src3"):
        model.src3
    assert not hasattr(model.src1.spectrum.main, "Powerlaw")


def test_linked_parameter_follows_its_target_and_is_not_free():
    model = seed_model()
    target = model.src2.spectrum.main.composite.kT_1
    linked = model.src1.spectrum.main.Blackbody.kT
    target.value = 123.0
    assert linked.value == 123.0
    assert not linked.free and linked.is_linked
    with pytest.raises(LinkError, match="unlink it"):
        linked.value = 5.0
    model.unlink(linked)
    assert linked.value == 123.0 and linked.free
    assert model.linked_parameters == {}


def test_link_with_a_function_and_units():
    model = seed_model()
    linked_path = "src1.spectrum.main.Blackbody.kT"
    model.unlink(linked_path)
    model.link(linked_path, "src2.spectrum.main.composite.kT_1", Line(a=1.0, b=2.0))
    model.src2.spectrum.main.composite.kT_1.value = 10.0
    assert model[linked_path].value == 21.0
    assert model[f"{linked_path}.Line.a"].unit == u.keV
    assert model[f"{linked_path}.Line.b"].unit == u.dimensionless_unscaled


def test_bad_links_raise_link_errors():
    model = seed_model()
    bb = model.src1.spectrum.main.Blackbody
    with pytest.raises(LinkError, match="to itself"):
        model.link(bb.K, bb.K)
    other = seed_model()
    with pytest.raises(LinkError, match="not a parameter of this model"):
        model.link(bb.K, other.src2.spectrum.main.composite.K_1)
    with pytest.raises(LinkError, match="no parameter 'nope'"):
        model.link("nope", bb.K)
    # kT (src1) -> kT_1 (src2) exists; kT_1 -> kT closes a cycle
    with pytest.raises(LinkError, match="cycle"):
        model.link(model.src2.spectrum.main.composite.kT_1, bb.kT)
    # a longer cycle through a third parameter
    comp = model.src2.spectrum.main.composite
    model.link(comp.K_1, bb.K)
    with pytest.raises(LinkError, match="cycle"):
        model.link(bb.K, comp.K_1)
    with pytest.raises(LinkError, match="is not linked"):
        model.unlink(comp.F_2)


def test_model_refuses_duplicate_names_and_shared_instances():
    with pytest.raises(ModelError, match="two sources are named 'a'"):
        Model(PointSource("a", 0, 0, Powerlaw()), PointSource("a", 1, 1, Powerlaw()))
    shape = Powerlaw()
    with pytest.raises(ModelError, match="same parameter object"):
        Model(PointSource("a", 0, 0, shape), PointSource("b", 1, 1, shape))
    with pytest.raises(ModelError, match="identifier"):
        PointSource("my source", 0, 0, Powerlaw())
    with pytest.raises(ModelError, match="spectral function"):
        PointSource("a", 0, 0, Gaussian_on_sphere())
    with pytest.raises(ParameterError, match="'dec'"):
        PointSource("a", 0, 95, Powerlaw())
    with pytest.raises(ModelError, match="Model takes sources"):
        Model(Powerlaw())


def test_extended_source_paths():
    ext = ExtendedSource("halo", spatial_shape=Gaussian_on_sphere(lon0=10, lat0=-5, sigma=1),
                         spectral_shape=Powerlaw())
    model = Model(PointSource("ps", 1, 2, Powerlaw()), ext)
    assert model["halo.Gaussian_on_sphere.sigma"] is model.halo.Gaussian_on_sphere.sigma
    assert model["halo.spectrum.main.Powerlaw.index"] is ext.spectrum.main.Powerlaw.index
    assert list(model.extended_sources) == ["halo"] and list(model.point_sources) == ["ps"]
    assert "Extended sources: 1" in repr(model)
    # the shape integrates to one over the sky (per steradian)
    lon, lat = np.meshgrid(np.linspace(5, 15, 401), np.linspace(-10, 0, 401))
    pixel_sr = (10 / 400 * math.pi / 180) ** 2 * np.cos(np.deg2rad(lat))
    total = float(np.sum(np.asarray(ext.spatial_shape(lon, lat)) * pixel_sr))
    assert total == pytest.approx(1.0, rel=1e-3)
    with pytest.raises(ModelError, match="spatial function"):
        ExtendedSource("bad", spatial_shape=Powerlaw(), spectral_shape=Powerlaw())


def _rich_model() -> Model:
    model = build_model()
    spectrum = model.src2.spectrum.main.composite
    spectrum.index_2.bounds = (-4, 1)
    spectrum.kT_1.value = 1.0 / 3.0  # not exactly representable in decimal
    model.src1.spectrum.main.Blackbody.K.value = 0.1 + 0.2
    third = (Powerlaw(K=1e-3) + Constant(k=0.5)) * Constant(k=1.7)
    third.K_1.prior = Log_uniform_prior(lower_bound=1e-6, upper_bound=1e-1)
    third.index_1.prior = Truncated_gaussian(mu=-2, sigma=0.5, lower_bound=-3, upper_bound=-1)
    third.k_3.prior = Uniform_prior(lower_bound=0.5, upper_bound=3)
    third.k_3.bounds = (0.1, None)
    third.piv_1.value = 100.0
    halo = ExtendedSource("halo", Gaussian_on_sphere(lon0=3, lat0=4, sigma=0.7), Powerlaw())
    for parameter, prior in [
        (halo.Gaussian_on_sphere.lon0, Uniform_prior(lower_bound=0, upper_bound=10)),
        (halo.Gaussian_on_sphere.lat0, Uniform_prior(lower_bound=0, upper_bound=10)),
        (halo.Gaussian_on_sphere.sigma, Log_uniform_prior(lower_bound=0.1, upper_bound=2)),
        (halo.spectrum.main.Powerlaw.K, Log_uniform_prior(lower_bound=1e-3, upper_bound=10)),
        (halo.spectrum.main.Powerlaw.index, Gaussian(mu=-2, sigma=0.3)),
    ]:
        parameter.prior = prior
    model = Model(*model.sources.values(),
                  PointSource("src3", ra=359.5, dec=-89.25, spectral_shape=third), halo)
    model.link(model.src3.spectrum.main.composite.k_2, model.src2.spectrum.main.composite.F_2,
               Line(a=0.25, b=1e-3))
    return model


def test_save_load_save_is_identical_and_bit_exact(tmp_path):
    model = _rich_model()
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    assert model.save(first) == first  # the path, as results' write returns it
    loaded = load_model(first)
    loaded.save(second)
    assert first.read_text() == second.read_text()
    for path, parameter in model.parameters.items():
        twin = loaded[path]
        assert twin.value == parameter.value  # bit-exact, not approximately
        assert twin.bounds == parameter.bounds
        assert twin.free == parameter.free and twin.is_linked == parameter.is_linked
        assert twin.prior == parameter.prior
        assert twin.unit == parameter.unit
    assert loaded["src3.spectrum.main.composite.k_2"].value == 0.25 + 1e-3 * model[
        "src2.spectrum.main.composite.F_2"].value
    first_space, second_space = model.compile(), loaded.compile()
    theta = first_space.initial_theta
    assert float(first_space.log_prior(theta)) == float(second_space.log_prior(theta))


def test_save_refuses_to_overwrite_and_load_reports_bad_files(tmp_path):
    path = tmp_path / "m.yml"
    build_model().save(path)
    with pytest.raises(ModelError, match="overwrite=True"):
        build_model().save(path)
    build_model().save(path, overwrite=True)
    bad = tmp_path / "bad.yml"
    bad.write_text("format: something-else\n")
    with pytest.raises(ModelError, match="not a jointfit model"):
        load_model(bad)
    bad.write_text("format: jointfit-model\nversion: 1\nsources:\n- PointSource: {name: a}\n")
    with pytest.raises(ModelError, match="malformed entry"):
        load_model(bad)
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ModelError, match="not valid YAML"):
        load_model(bad)
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "missing.yml")
    bad.write_text(path.read_text().replace("Blackbody:", "Blackbodyy:", 1))
    with pytest.raises(UnknownNameError, match="unknown function 'Blackbodyy'"):
        load_model(bad)


def test_yaml_is_never_unpickled(tmp_path):
    path = tmp_path / "evil.yml"
    path.write_text("!!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ModelError, match="not valid YAML"):
        load_model(path)


def test_clone_is_independent_with_links_intact():
    model = build_model()
    twin = model.clone()
    twin.src2.spectrum.main.composite.kT_1.value = 77.0
    assert twin.src1.spectrum.main.Blackbody.kT.value == 77.0
    assert model.src1.spectrum.main.Blackbody.kT.value == 30.0
    assert twin.src1.spectrum.main.Blackbody.kT.link.target is twin.src2.spectrum.main.composite.kT_1


def test_errors_name_the_full_path_once_in_a_model():
    model = build_model()
    index = model.src2.spectrum.main.composite.index_2
    index.bounds = (-5, 5)
    with pytest.raises(ParameterError, match=r"'src2.spectrum.main.composite.index_2'.*outside"):
        index.value = 20
    spectrum = Blackbody() + Powerlaw_flux()
    with pytest.raises(ParameterError, match="'kT_1'"):
        spectrum.kT_1 = -1.0


def test_uninformative_prior_uses_the_bounds():
    index = Powerlaw().index
    index.set_uninformative_prior(Uniform_prior)
    assert index.prior == Uniform_prior(lower_bound=-10, upper_bound=10)
    with pytest.raises(PriorError, match="needs both bounds"):
        Blackbody().K.set_uninformative_prior(Log_uniform_prior)


def test_point_source_in_galactic_coordinates():
    source = PointSource("gc", l=0.0, b=0.0, spectral_shape=Powerlaw())
    assert source.position.ra.value == pytest.approx(266.40498829, abs=1e-6)
    assert source.position.dec.value == pytest.approx(-28.93617776, abs=1e-6)
    with pytest.raises(ModelError, match="not both or neither"):
        PointSource("x", ra=1, dec=2, l=3, b=4, spectral_shape=Powerlaw())


def test_freed_link_function_parameters_survive_a_file_round_trip(tmp_path):
    model = build_model()
    slope = model["src1.spectrum.main.Blackbody.kT.Line.b"]
    slope.free = True
    slope.prior = Uniform_prior(lower_bound=0.5, upper_bound=2)
    model.save(tmp_path / "m.yml")
    loaded = load_model(tmp_path / "m.yml")
    assert loaded["src1.spectrum.main.Blackbody.kT.Line.b"].free
    assert loaded.to_yaml() == model.to_yaml()


def test_link_functions_cannot_be_linked_or_reused():
    model = build_model()
    with pytest.raises(LinkError, match="parameter of a link function"):
        model.link("src1.spectrum.main.Blackbody.kT.Line.a", "src1.spectrum.main.Blackbody.K")
    with pytest.raises(LinkError, match="parameter of a link function"):
        model.link("src1.spectrum.main.Blackbody.K", "src1.spectrum.main.Blackbody.kT.Line.a")
    shared = Line()
    model.link("src2.spectrum.main.composite.F_2", "src2.spectrum.main.composite.K_1", shared)
    with pytest.raises(LinkError, match="already used by a model"):
        build_model().link("src2.spectrum.main.composite.F_2", "src2.spectrum.main.composite.K_1", shared)
    with pytest.raises(LinkError, match="one-variable function"):
        build_model().link("src2.spectrum.main.composite.F_2", "src2.spectrum.main.composite.K_1",
                           Gaussian_on_sphere())


def test_a_refused_link_leaves_the_function_untouched():
    model = build_model()
    line = Line()
    unit_before = line.a.unit
    with pytest.raises(LinkError, match="cycle"):
        model.link("src2.spectrum.main.composite.kT_1", "src1.spectrum.main.Blackbody.kT", line)
    assert line.a.unit == unit_before and line.a.path == "a"


def test_a_model_refuses_links_that_leave_it():
    model = build_model()
    with pytest.raises(LinkError, match="not in this model"):
        Model(model.src1)  # src1's kT is linked to src2, which this model lacks


def test_link_function_keyword_of_astromodels():
    model = build_model()
    model.link("src2.spectrum.main.composite.F_2", "src2.spectrum.main.composite.K_1",
               link_function=Line(a=0.0, b=2.0))
    model.src2.spectrum.main.composite.K_1.value = 3e-4
    assert model["src2.spectrum.main.composite.F_2"].value == pytest.approx(6e-4)


def test_throwaway_products_do_not_change_a_source_shape_units(tmp_path):
    blackbody = Blackbody()
    _ = Powerlaw() * blackbody  # makes blackbody a dimensionless factor for that product
    model = Model(PointSource("s", 0, 0, blackbody))
    assert model["s.spectrum.main.Blackbody.K"].unit == u.Unit("1/(cm2 s keV3)")
    model.save(tmp_path / "m.yml")
    assert load_model(tmp_path / "m.yml")["s.spectrum.main.Blackbody.K"].unit == u.Unit("1/(cm2 s keV3)")


def test_source_names_must_not_hide_model_attributes_or_be_keywords():
    with pytest.raises(ModelError, match="taken by Model.link"):
        PointSource("link", 0, 0, Powerlaw())
    with pytest.raises(ModelError, match="not a keyword"):
        PointSource("lambda", 0, 0, Powerlaw())
    with pytest.raises(ModelError, match="non-finite"):
        Powerlaw() * math.inf
    with pytest.raises(TypeError):
        Powerlaw() + True
