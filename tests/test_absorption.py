"""Photoelectric absorption: cross-sections against independent and published values,
the compiled interpolation, options, files and gradients."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jointfit import Model, PhAbs, PointSource, Powerlaw, TbAbs, load_model
from jointfit.errors import ModelError, UnknownNameError
from jointfit.functions import cross_sections as xs

RYDBERG_EV = 13.6057


def exact_hydrogen(energy_ev: np.ndarray) -> np.ndarray:
    """Quantum-mechanical photoionisation cross-section of H(1s) (e.g. Osterbrock &
    Ferland, eq. 2.4), cm^2: an independent check of the Verner fit and its evaluation."""
    eps = np.sqrt(np.maximum(energy_ev / RYDBERG_EV - 1.0, 1e-12))
    return (6.304e-18 * (RYDBERG_EV / energy_ev) ** 4 * np.exp(4.0 - 4.0 * np.arctan(eps) / eps)
            / -np.expm1(-2.0 * np.pi / eps))


def test_verner_hydrogen_follows_the_exact_cross_section_within_one_percent():
    energy = np.geomspace(RYDBERG_EV, 5e4, 300)
    np.testing.assert_allclose(xs.atomic_cross_section(1, energy), exact_hydrogen(energy), rtol=0.01)
    np.testing.assert_allclose(xs.hydrogen_cross_section(energy), exact_hydrogen(energy), rtol=0.025)


def test_verner_values_and_thresholds_of_the_reference_routine():
    # phfit2(1, 1, 1, 13.6 eV) = 6.346 Mb, the value Verner's routine returns
    assert xs.atomic_cross_section(1, np.array([13.6]))[0] == pytest.approx(6.346e-18, rel=1e-3)
    assert xs.atomic_cross_section(1, np.array([13.5]))[0] == 0.0
    # K edges of O (538 eV) and Fe (7124 eV) from Verner & Yakovlev's thresholds
    for z, edge in ((8, 538.0), (26, 7124.0)):
        below, above = xs.atomic_cross_section(z, np.array([edge * 0.999, edge * 1.001]))
        assert above > 4.0 * below, (z, below, above)


# XSPEC 12 tbabs (abund wilm) and phabs (abund angr), 1e-22 cm^2 per H atom, as
# tabulated by astromodels 2.4 (data/xsect); away from the O K and Fe L edges.
XSPEC_TBABS_WILM = {0.29999816: 27.317835, 0.99979880: 1.73848, 2.0004027: 0.2919068,
                    5.9995813: 0.014149036, 9.998624: 0.007080467}
XSPEC_PHABS_ANGR = {0.29999816: 28.625376, 0.99979880: 2.5038111, 2.0004027: 0.44269302,
                    5.9995813: 0.021744858}


@pytest.mark.parametrize("function, reference, rtol", [
    (TbAbs(NH=1.0), XSPEC_TBABS_WILM, 2e-3),
    (PhAbs(NH=1.0), XSPEC_PHABS_ANGR, 1e-2),  # XSPEC's default phabs uses bcmc, not vern
])
def test_cross_sections_agree_with_xspec(function, reference, rtol):
    energy = np.array(list(reference))
    sigma = -np.log(np.asarray(function(energy)))
    np.testing.assert_allclose(sigma, list(reference.values()), rtol=rtol)


def test_interpolation_reproduces_the_exact_cross_section():
    rng = np.random.default_rng(5)
    # from 0.1 keV: helium's autoionisation resonances near 60 eV are narrower than the grid
    energy = np.exp(rng.uniform(np.log(0.1), np.log(80.0), 5000))
    nh = 1e-3  # optical depths from 1e-6 to 100: the logarithm below stays precise
    for function, exact in ((TbAbs(NH=nh, abundance_table="aspl"), xs.ism_cross_section(energy * 1e3, "aspl")),
                            (PhAbs(NH=nh), xs.photoelectric_cross_section(energy * 1e3, "angr"))):
        sigma = -np.log(np.asarray(function(energy))) / nh * 1e-22
        np.testing.assert_allclose(sigma, exact, rtol=1e-6)


def test_edges_stay_sharp_in_the_compiled_function():
    tbabs = TbAbs(NH=1.0)
    below, above = np.asarray(tbabs(np.array([7.124 * (1 - 1e-6), 7.124 * (1 + 1e-6)])))
    # the Fe K edge: optical depth jumps by about 20 % at NH = 1e22
    assert -np.log(above) > 1.1 * -np.log(below)


def test_abundances_and_grains_lower_the_ism_cross_section_as_wilms_et_al_find():
    energy = np.array([1000.0, 2000.0, 3000.0])
    ism = xs.ism_cross_section(energy, "wilm")
    old = xs.photoelectric_cross_section(energy, "angr")
    # Wilms et al. (2000): above 1 keV their ISM absorbs ~30 % less than Anders & Grevesse gas
    assert np.all(ism < 0.8 * old) and np.all(ism > 0.55 * old)


@pytest.mark.parametrize("redshift", [0.0, 1.5])
@pytest.mark.parametrize("absorber", [TbAbs, PhAbs])
def test_gas_is_transparent_below_hydrogen_s_edge_where_dust_laws_take_over(absorber, redshift):
    # the optical and near-UV (rest frame): exactly 1 at any column, so a dust law's
    # extinction is not counted twice; just above 13.6 eV hydrogen absorbs everything
    rest = np.array([0.4e-3, 2.5e-3, 6.0e-3, 10.0e-3, 13.6e-3 * (1 - 1e-9)])
    absorbed = absorber(NH=1.0, redshift=redshift)
    np.testing.assert_array_equal(np.asarray(absorbed(rest / (1 + redshift))), 1.0)
    # NH = 1e17 / cm2: an optical depth of ~0.5 just above the edge
    above = np.asarray(absorber.evaluate(jnp.array([13.6e-3 * (1 + 1e-9), 0.3]) / (1 + redshift), 1e-5, redshift))
    exact = xs.ism_cross_section(np.array([13.6 * (1 + 1e-9), 300.0]), "wilm") if absorber is TbAbs else \
        xs.photoelectric_cross_section(np.array([13.6 * (1 + 1e-9), 300.0]), "angr")
    np.testing.assert_allclose(-np.log(above) / 1e-5, exact / 1e-22, rtol=1e-6)
    gradient = jax.grad(lambda nh: absorber.evaluate(jnp.asarray(rest), nh, redshift).sum())(1.0)
    assert float(gradient) == 0.0


def test_redshift_moves_the_edges():
    energy = jnp.geomspace(0.3, 10.0, 50)
    shifted = TbAbs(NH=2.0, redshift=0.5)(energy)
    np.testing.assert_allclose(shifted, TbAbs(NH=2.0)(energy * 1.5), rtol=1e-12)


def test_transmission_scales_as_a_power_of_nh():
    energy = jnp.geomspace(0.2, 20.0, 30)
    np.testing.assert_allclose(PhAbs(NH=3.0)(energy), PhAbs(NH=1.0)(energy) ** 3, rtol=1e-10)
    assert float(PhAbs(NH=1.0)(jnp.array([300.0]))[0]) > 0.999  # beyond the grid: power-law tail


def test_abundance_table_option_accepts_known_names_only():
    tbabs = TbAbs()
    assert tbabs.abundance_table == "wilm" and PhAbs().abundance_table == "angr"
    tbabs.abundance_table = "AG89"  # astromodels' name for Anders & Grevesse
    assert tbabs.abundance_table == "angr"
    with pytest.raises(ModelError, match=r"TbAbs.abundance_table must be one of \['angr', 'aspl', 'wilm', 'lodd'\]"):
        tbabs.abundance_table = "solar"
    with pytest.raises(UnknownNameError, match="options \\['abundance_table'\\]"):
        TbAbs(abundances="wilm")
    assert "abundance_table='angr'" in repr(tbabs)
    assert str(tbabs.NH.unit) == "1e+22 / cm2"


def test_absorbed_model_goes_through_files_with_its_abundance_table(tmp_path):
    shape = Powerlaw(K=2.0) * TbAbs(NH=0.3, abundance_table="aspl")
    model = Model(PointSource("src", ra=1.0, dec=2.0, spectral_shape=shape))
    model.save(tmp_path / "m.yml")
    again = load_model(tmp_path / "m.yml")
    leaf = again.src.spectrum.main.shape.leaves[1]
    assert leaf.abundance_table == "aspl" and leaf.NH.value == 0.3
    energy = np.geomspace(0.3, 10, 20)
    np.testing.assert_array_equal(np.asarray(again.src.spectrum.main.shape(energy)), np.asarray(shape(energy)))


def test_gradient_and_batches_in_compiled_code():
    energy = jnp.geomspace(0.3, 10.0, 64)

    def absorbed_flux(nh):
        return jnp.sum(TbAbs.evaluate(energy, nh, 0.0, "wilm") * energy ** -1.5)

    grad = jax.grad(absorbed_flux)(0.5)
    step = 1e-6
    numeric = (absorbed_flux(0.5 + step) - absorbed_flux(0.5 - step)) / (2 * step)
    assert np.isfinite(grad) and grad == pytest.approx(float(numeric), rel=1e-6)
    batch = jax.jit(jax.vmap(lambda nh: TbAbs.evaluate(energy, nh, 0.0, "wilm")))(jnp.array([0.1, 1.0, 10.0]))
    assert batch.shape == (3, 64)
    np.testing.assert_allclose(batch[2], batch[1] ** 10, rtol=1e-9)
