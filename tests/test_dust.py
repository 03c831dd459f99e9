"""Dust extinction laws: curves against the dust_extinction package and the paper's
formula, the continuation outside the published ranges, options, files and gradients.

References: dust_extinction (a declared test dependency: without it these tests fail)
gives A(lambda)/A(V); jointfit's value is compared as A(lambda)/A(V) =
-2.5 log10(transmission) / (E(B-V) R_V), relative tolerance 1e-10 (the laws must agree
to 1e-6; both evaluate the same formulas, so they agree to rounding). Checked with
dust_extinction 1.2 (the lowest release supported) and 1.7 (the newest). Two
differences between releases are bridged here: F99 and G03_SMCBar interpolate the
optical/IR with a natural cubic spline from 1.6 on (jointfit follows it), where 1.2-1.5
took scipy's splrep (not-a-knot), so with those releases the reference is computed with
the spline swapped for the natural one; and G23 is divided by 0.9854 from 1.7 on
(jointfit's ``renorm="yes"``, the default; ``"no"`` is the curve of 1.2-1.6).
"""

from __future__ import annotations

import importlib.metadata
import math
import types
import warnings

import astropy.constants as const
import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jointfit import Model, PointSource, Powerlaw, TbAbs, load_model
from jointfit.errors import ModelError, ParameterError, UnknownNameError
from jointfit.functions import (
    CCM89,
    Calzetti00,
    Cardelli89,
    CompositeFunction,
    Fitzpatrick99,
    Gordon23,
    Odonnell94,
    SMC_Gordon03,
    function_from_dict,
    function_type,
)
from jointfit.functions.dust import HC_KEV_MICRON, LYMAN_LIMIT_KEV

RTOL_REFERENCE = 1e-10
LAWS = (Cardelli89, Odonnell94, Fitzpatrick99, Gordon23, Calzetti00, SMC_Gordon03)  # CCM89 is Cardelli89
N = 256  # points of most grids: one compiled program per law serves them
HC = (const.h * const.c).to_value(u.keV * u.micron)  # astropy's, as dust_extinction converts
# the published ranges (micron), as the papers and dust_extinction state them
RANGES = {Cardelli89: (0.1, 1 / 0.3), CCM89: (0.1, 1 / 0.3), Odonnell94: (0.1, 1 / 0.3),
          Fitzpatrick99: (0.1, 1 / 0.3), Gordon23: (0.0912, 32.0), Calzetti00: (0.12, 2.2),
          SMC_Gordon03: (0.1, 1 / 0.3)}


def dust_extinction():
    """The reference package: a missing one fails the test (it is a test dependency)."""
    try:
        import dust_extinction
        import dust_extinction.averages
        import dust_extinction.parameter_averages
        import dust_extinction.shapes
    except ImportError as exc:  # pragma: no cover - the environment lacks a declared dependency
        pytest.fail(f"dust_extinction, a test dependency of jointfit, is not importable: {exc}")
    return dust_extinction


def release() -> tuple[int, int]:
    major, minor = importlib.metadata.version("dust_extinction").split(".")[:2]
    return int(major), int(minor)


def a_over_av(function, energy) -> np.ndarray:
    """A(lambda)/A(V) from jointfit's transmission."""
    transmission = np.asarray(function(energy))
    return -2.5 * np.log10(transmission) / (function.E_BV.value * function.R_V.value)


def inner_grid(law, n: int = 1500) -> np.ndarray:
    """Energies (keV) spanning the law's published range, ends just inside."""
    short, long = RANGES[law]
    return np.geomspace(HC / long * (1 + 1e-8), HC / short * (1 - 1e-8), n)


@pytest.fixture
def reference(monkeypatch):
    """``reference(law, R_V, renorm)``: dust_extinction's A(lambda)/A(V) function for a law."""
    de = dust_extinction()
    if release() < (1, 6):
        from scipy.interpolate import CubicSpline

        natural = types.SimpleNamespace(
            splrep=lambda x, y: CubicSpline(x, y, bc_type="natural"),
            splev=lambda x, spline, der=0: spline(x, der),
        )
        monkeypatch.setattr(de.shapes, "interpolate", natural)

    def make(law, rv, renorm="yes"):
        pa = de.parameter_averages
        if law is Gordon23:
            if release() >= (1, 7):
                model, scale = pa.G23(Rv=rv, renorm=renorm == "yes"), 1.0
            else:
                model, scale = pa.G23(Rv=rv), (1 / 0.9854 if renorm == "yes" else 1.0)
        else:
            model, scale = {Cardelli89: pa.CCM89, CCM89: pa.CCM89, Odonnell94: pa.O94, Fitzpatrick99: pa.F99,
                            SMC_Gordon03: lambda Rv: de.averages.G03_SMCBar()}[law](Rv=rv), 1.0

        def curve(energy):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.asarray(model(np.asarray(energy) * u.keV)) * scale

        return curve

    return make


# -------------------------------------------------------------------------------------------
# the curves
# -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("law, rvs", [
    (Cardelli89, (2.0, 3.1, 4.5, 6.0)),
    (Odonnell94, (2.0, 3.1, 4.5, 6.0)),
    (Fitzpatrick99, (2.0, 3.1, 4.5, 6.0)),
    (Gordon23, (2.3, 3.1, 4.0, 5.6)),
    (SMC_Gordon03, (2.74,)),
])
def test_curves_agree_with_dust_extinction_with_r_v_free_in_compiled_code(law, rvs, reference):
    energy = inner_grid(law)
    # R_V traced (free): F99's spline is then solved in the compiled code
    curves = jax.jit(jax.vmap(lambda rv: -2.5 * jnp.log10(law.evaluate(energy, 1.0, rv, 0.0)) / rv))(jnp.array(rvs))
    for rv, curve in zip(rvs, np.asarray(curves)):
        np.testing.assert_allclose(curve, reference(law, rv)(energy), rtol=RTOL_REFERENCE, err_msg=f"R_V={rv}")
        # the function called with its parameters gives the compiled values
        np.testing.assert_allclose(a_over_av(law(E_BV=1.0, R_V=rv), energy), curve, rtol=1e-13)


def test_gordon23_normalisations(reference):
    energy = inner_grid(Gordon23, 400)
    for renorm in ("yes", "no"):
        np.testing.assert_allclose(a_over_av(Gordon23(R_V=2.7, renorm=renorm), energy),
                                   reference(Gordon23, 2.7, renorm)(energy), rtol=RTOL_REFERENCE)
    assert Gordon23().renorm == "yes" and Gordon23(renorm="False").renorm == "no"


def test_smc_curve_is_the_published_one_whatever_r_v(reference):
    energy = inner_grid(SMC_Gordon03, 200)
    np.testing.assert_allclose(a_over_av(SMC_Gordon03(R_V=3.0), energy), reference(SMC_Gordon03, 2.74)(energy),
                               rtol=RTOL_REFERENCE)


def calzetti_k(wavelength: np.ndarray, rv: float) -> np.ndarray:
    """Calzetti et al. (2000), eq. 4, wavelength in micron."""
    blue = 2.659 * (-2.156 + 1.509 / wavelength - 0.198 / wavelength**2 + 0.011 / wavelength**3) + rv
    red = 2.659 * (-1.857 + 1.040 / wavelength) + rv
    return np.where(wavelength < 0.63, blue, red)


@pytest.mark.parametrize("rv", [4.05, 3.7, 5.65])
def test_calzetti_follows_the_papers_formula(rv):
    wavelength = np.geomspace(0.12, 2.2, 2000)
    f = Calzetti00(E_BV=0.3, R_V=rv)
    expected = 10.0 ** (-0.4 * 0.3 * calzetti_k(wavelength, rv))
    np.testing.assert_allclose(np.asarray(f(wavelength * u.micron)), expected, rtol=1e-12)


def test_transmission_at_known_points():
    # CCM89 and O94: a = 1, b = 0 at x = 1.82 / micron, so A = A(V) = E(B-V) R_V
    for law in (Cardelli89, Odonnell94):
        value = float(law(E_BV=0.1, R_V=3.1)(HC_KEV_MICRON * 1.82))
        assert value == pytest.approx(10 ** (-0.4 * 0.31), rel=1e-14)
    # F99's spline passes through its anchors: A(lambda)/A(V) at 5470 and 26500 A
    f99 = Fitzpatrick99(E_BV=1.0, R_V=3.1)
    anchors = HC_KEV_MICRON * 1e4 / np.array([5470.0, 26500.0])
    np.testing.assert_allclose(a_over_av(f99, anchors), [(-0.050 + 1.0016 * 3.1) / 3.1, 0.265 / 3.1], rtol=1e-13)
    # the SMC bar average at its tabulated optical/IR points (Gordon et al. 2003, 2016)
    smc = SMC_Gordon03(E_BV=1.0)
    points = HC_KEV_MICRON / np.array([2.198, 1.25, 0.55, 0.37])
    np.testing.assert_allclose(a_over_av(smc, points), [0.11, 0.25, 1.0, 1.672], rtol=1e-13)
    # Calzetti: k(1 micron) = 2.659 (-1.857 + 1.040) + 4.05
    value = float(Calzetti00(E_BV=0.2)(HC_KEV_MICRON))
    assert value == pytest.approx(10 ** (-0.4 * 0.2 * 1.877597), rel=1e-13)


@pytest.mark.parametrize("law", LAWS)
def test_redshift_shifts_the_curve(law):
    energy = np.geomspace(1e-5, 0.1, N)
    z = 1.7
    shifted = np.asarray(law(E_BV=0.4, redshift=z)(energy))
    np.testing.assert_allclose(shifted, np.asarray(law(E_BV=0.4)(energy * (1 + z))), rtol=1e-13)


# -------------------------------------------------------------------------------------------
# outside the published range
# -------------------------------------------------------------------------------------------
def magnitudes(law, energy, **values):
    return -2.5 * np.log10(np.asarray(law(**values)(np.asarray(energy, dtype=float))))


@pytest.mark.parametrize("law", LAWS)
def test_continuation_is_continuous_at_both_ends_and_decays_monotonically_in_the_infrared(law):
    low, high = law.rest_energy_range()
    around = np.array([1 - 1e-14, 1.0, 1 + 1e-14])
    infrared = np.geomspace(1.0, 1e-6, N - 6)
    for rv in law._specs["R_V"].bounds:
        mag = magnitudes(law, np.concatenate([low * around, high * around, low * infrared]), E_BV=1.0, R_V=rv)
        for below, at, above in (mag[0:3], mag[3:6]):
            assert below == pytest.approx(at, rel=1e-12) and above == pytest.approx(at, rel=1e-12), rv
        # longward: positive and strictly falling down to where it underflows (Calzetti00
        # at R_V = 3.7 falls as lambda^-66), towards zero
        ir = mag[6:]
        positive = ir > 0
        assert positive[:2].all() and np.all(np.diff(ir[positive]) < 0) and np.all(ir[~positive] == 0), rv
        assert ir[-1] < 1e-3 * ir[0]


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("z", [0.0, 2.0])
def test_held_up_to_the_lyman_limit_and_transparent_beyond(law, z):
    _, high = law.rest_energy_range()
    f = law(E_BV=0.5, redshift=z)
    held = np.linspace(high, LYMAN_LIMIT_KEV * (1 - 1e-12), N - 7)
    beyond = np.array([13.6e-3, 13.6e-3 * (1 + 1e-12), 0.02, 0.1, 1.0, 10.0, 1e4])
    values = np.asarray(f(np.concatenate([held, beyond]) / (1 + z)))
    np.testing.assert_array_equal(values[:-7], values[0])
    assert values[0] < 0.5
    np.testing.assert_array_equal(values[-7:], 1.0)
    expected = np.append(HC_KEV_MICRON * np.asarray(KINKS[law]), LYMAN_LIMIT_KEV)
    np.testing.assert_allclose(f.breakpoints(), np.sort(expected) / (1 + z), rtol=1e-14)
    # with a free redshift nothing is fixed to split at
    f.redshift.free = True
    assert f.breakpoints().size == 0


# Where each law, as published, is not smooth (1/micron): the ends of the published
# range, where its pieces meet, its spline's knots, where FM90 takes over (2700 Å) and
# FM90's far-UV curvature term begins (5.9). Integrals over energy split there.
_F99_OPTICAL_KNOTS = 1e4 / np.array([26500.0, 12200.0, 6000.0, 5470.0, 4670.0, 4110.0])
_G03_SMC_OPTICAL_KNOTS = 1.0 / np.array([2.198, 1.65, 1.25, 0.81, 0.65, 0.55, 0.44, 0.37])
KINKS = {
    Cardelli89: (0.3, 1.1, 3.3, 5.9, 8.0, 10.0),  # CCM89's infrared, optical, UV and far-UV pieces
    Odonnell94: (0.3, 1.1, 3.3, 5.9, 8.0, 10.0),  # O'Donnell's optical polynomial in CCM89's pieces
    Fitzpatrick99: (0.3, *_F99_OPTICAL_KNOTS, 1e4 / 2700.0, 5.9, 10.0),
    SMC_Gordon03: (0.3, *_G03_SMC_OPTICAL_KNOTS, 1e4 / 2700.0, 5.9, 10.0),
    # the infrared's two power laws blended over 4.30578 -/+ 4.78338 / 2 micron, the
    # optical between 0.9 and 1.1 micron and the UV between 0.30 and 0.33 micron
    Gordon23: (1 / 32.0, 1 / (4.30578 + 4.78338 / 2), 1 / (4.30578 - 4.78338 / 2), 1 / 1.1, 1 / 0.9, 1 / 0.33,
               1 / 0.3, 5.9, 1 / 0.0912),
    Calzetti00: (1 / 2.2, 1 / 0.63, 1 / 0.12),  # the two pieces of k(lambda) jump at 0.63 micron
}


@pytest.mark.parametrize("law", LAWS)
def test_kinks_are_where_the_published_pieces_meet(law):
    np.testing.assert_allclose(law.kink_wavenumbers(), np.sort(KINKS[law]), rtol=1e-12)


@pytest.mark.parametrize("law", LAWS)
def test_gradients_are_finite_at_and_around_the_ends(law):
    low, high = law.rest_energy_range()
    ends = [low, high, LYMAN_LIMIT_KEV] + ([HC_KEV_MICRON / 0.63] if law is Calzetti00 else [])
    energy = jnp.array([e * s for e in ends for s in (1 - 1e-9, 1.0, 1 + 1e-9)])

    def log_t(e, ebv, rv, z):
        return jnp.log(law.evaluate(e, ebv, rv, z))

    # at both ends of R_V's bounds (the R_V derivative passes through the continuation's slope)
    gradient = jax.jit(jax.vmap(jax.vmap(jax.grad(log_t, argnums=(0, 1, 2, 3)), in_axes=(0, None, None, None)),
                        in_axes=(None, None, 0, None)))
    grads = gradient(energy, 0.3, jnp.array(law._specs["R_V"].bounds), 0.0)
    for name, g in zip(("energy", "E_BV", "R_V", "redshift"), grads):
        assert np.all(np.isfinite(np.asarray(g))), (name, np.asarray(g))
    # the continuation longward keeps the slope at the end
    by_energy = np.asarray(grads[0])
    np.testing.assert_allclose(by_energy[:, 0], by_energy[:, 2], rtol=1e-6)


def test_r_v_gradient_of_the_spline_built_in_compiled_code():
    energy = HC_KEV_MICRON * np.array([0.2, 0.5, 1.5, 2.5, 3.5, 5.0])  # the extension, the spline and FM90

    def magnitude(rv):
        return -2.5 * jnp.log10(Fitzpatrick99.evaluate(energy, 1.0, rv, 0.0))

    step = 1e-5
    numeric = (magnitude(3.3 + step) - magnitude(3.3 - step)) / (2 * step)
    np.testing.assert_allclose(jax.jit(jax.jacrev(magnitude))(3.3), numeric, rtol=1e-7)


@pytest.mark.parametrize("law", LAWS)
def test_jit_and_vmap_agree_with_the_call(law):
    energy = np.geomspace(1e-6, 10.0, N)
    rv = law._specs["R_V"].default
    batch = jnp.array([0.0, 0.2, 1.5])
    compiled = jax.jit(jax.vmap(law.evaluate, in_axes=(None, 0, None, None)))(energy, batch, rv, 0.3)
    for ebv, row in zip(np.asarray(batch), np.asarray(compiled)):
        np.testing.assert_allclose(row, np.asarray(law(E_BV=ebv, redshift=0.3)(energy)), rtol=1e-13)
    np.testing.assert_array_equal(np.asarray(compiled[0]), 1.0)


# -------------------------------------------------------------------------------------------
# options, ranges, registry and files
# -------------------------------------------------------------------------------------------
def test_parameters_and_defaults():
    for law, rv, bounds in ((Cardelli89, 3.1, (2.0, 6.0)), (Odonnell94, 3.1, (2.0, 6.0)),
                            (Fitzpatrick99, 3.1, (2.0, 6.0)), (Gordon23, 3.1, (2.3, 5.6)),
                            (Calzetti00, 4.05, (3.7, 5.65)), (SMC_Gordon03, 2.74, (2.48, 3.0))):
        f = law()
        assert list(f.parameters) == ["E_BV", "R_V", "redshift"]
        assert f.E_BV.free and not f.R_V.free and not f.redshift.free
        assert (f.E_BV.value, f.R_V.value, f.redshift.value) == (0.1, rv, 0.0)
        assert f.R_V.bounds == bounds and f.redshift.bounds == (0.0, 15.0)
        assert f.outside_range == "extend" and str(f.E_BV.unit) == "mag"
    assert function_type("CCM89") is CCM89 and function_type("Cardelli89") is Cardelli89
    energy = np.geomspace(1e-5, 0.1, N)
    np.testing.assert_array_equal(np.asarray(CCM89(R_V=4.0)(energy)), np.asarray(Cardelli89(R_V=4.0)(energy)))


def test_valid_energy_range_and_refusal():
    f = Fitzpatrick99()
    assert f.valid_energy_range() == (0.0, math.inf)
    f.outside_range = "refuse"
    low, high = HC_KEV_MICRON * 0.3, HC_KEV_MICRON * 10.0
    np.testing.assert_allclose(f.valid_energy_range(), (low, high), rtol=1e-15)
    f.redshift = 1.5
    np.testing.assert_allclose(f.valid_energy_range(), (low / 2.5, high / 2.5), rtol=1e-15)
    # a free redshift: the energies inside the range for every redshift within the bounds
    f.redshift.free = True
    f.redshift.bounds = (0.5, 2.0)
    np.testing.assert_allclose(f.valid_energy_range(), (low / 1.5, high / 3.0), rtol=1e-15)
    f.redshift.bounds = (0.0, 40.0)
    with pytest.raises(ModelError, match="narrow the redshift"):
        f.valid_energy_range()
    # refused: NaN in compiled code outside, an error when called there
    g = Gordon23(outside_range="refuse")
    inside, outside = HC_KEV_MICRON * np.array([0.05, 5.0]), HC_KEV_MICRON * np.array([0.01, 11.0])
    assert np.all(np.isfinite(np.asarray(g(inside))))
    assert np.all(np.isnan(np.asarray(Gordon23.evaluate(outside, 0.1, 3.1, 0.0, "refuse"))))
    with pytest.raises(ModelError, match="refuses energies outside"):
        g(outside)
    with pytest.raises(ModelError, match="refuses energies outside"):
        g(40.0 * u.micron)
    # refused beyond its range, the law is never continued to the Lyman limit
    np.testing.assert_allclose(g.breakpoints(), np.sort(HC_KEV_MICRON * np.asarray(KINKS[Gordon23])), rtol=1e-14)


def test_bad_options_and_names_raise():
    with pytest.raises(ModelError, match=r"Cardelli89.outside_range must be one of \['extend', 'refuse'\]"):
        Cardelli89(outside_range="clip")
    f = Gordon23()
    with pytest.raises(ModelError, match="Gordon23.renorm must be one of"):
        f.renorm = "maybe"
    with pytest.raises(ModelError):
        f.outside_range = None
    with pytest.raises(UnknownNameError, match="options"):
        Calzetti00(Rv=4.0)
    with pytest.raises(ParameterError):
        Fitzpatrick99(R_V=7.0)
    with pytest.raises(ModelError, match="outside_range must be one of"):
        Cardelli89.evaluate(np.array([1e-3]), 0.1, 3.1, 0.0, "clip")


def test_composites_evaluate():
    shape = Powerlaw(K=2.0, index=-1.5) * Cardelli89(E_BV=0.3)
    assert isinstance(shape, CompositeFunction) and "E_BV_2" in shape.parameters
    energy = np.geomspace(1e-4, 50.0, N)
    expected = 2.0 * energy**-1.5 * np.asarray(Cardelli89(E_BV=0.3)(energy))
    np.testing.assert_allclose(np.asarray(shape(energy)), expected, rtol=1e-13)
    # optical to X-rays with photoelectric absorption: finite, the dust transparent above 13.6 eV
    absorbed = Powerlaw() * Gordon23(E_BV=0.5) * TbAbs(NH=0.1)
    values = np.asarray(absorbed(energy))
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    x_rays = energy > 0.1
    np.testing.assert_allclose(values[x_rays], np.asarray((Powerlaw() * TbAbs(NH=0.1))(energy[x_rays])), rtol=1e-13)
    assert absorbed.valid_energy_range() == (0.0, math.inf)


@pytest.mark.parametrize("law", (CCM89, *LAWS))
def test_dict_round_trip_keeps_parameters_and_options(law):
    f = law(E_BV=0.7, redshift=0.4, outside_range="refuse")
    f.R_V.free = True
    if law is Gordon23:
        f.renorm = "no"
    again = function_from_dict(f.to_dict())
    assert type(again) is law
    assert again.to_dict() == f.to_dict() and again.options == f.options
    energy = np.geomspace(*f.valid_energy_range(), N)
    np.testing.assert_array_equal(np.asarray(again(energy)), np.asarray(f(energy)))


def test_model_file_round_trip(tmp_path):
    shape = Powerlaw(K=2.0) * SMC_Gordon03(E_BV=0.2, outside_range="refuse")
    model = Model(PointSource("src", ra=1.0, dec=2.0, spectral_shape=shape))
    model.save(tmp_path / "m.yml")
    leaf = load_model(tmp_path / "m.yml").src.spectrum.main.shape.leaves[1]
    assert type(leaf) is SMC_Gordon03 and leaf.outside_range == "refuse" and leaf.E_BV.value == 0.2
