"""DiskBB (XSPEC's diskbb) against the disk integral it stands for, computed here with
scipy quadrature and astropy constants; its limits, derivatives, fits and composition.

No reference value is built with jointfit's own G(a) or constant.
"""

from __future__ import annotations

import math

import astropy.constants as const
import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special

import jointfit as jf
from jointfit.functions import function_from_dict
from jointfit.functions.spectral import _DISK_SWITCH as SWITCH  # where G changes method

H_KEV_S = const.h.to_value(u.keV * u.s)
C_CM_S = const.c.to_value(u.cm / u.s)
# a disk of 30 km inner radius at 5 kpc seen at 60 degrees: K = (30 / 0.5)^2 cos 60 = 1800
R_IN_CM = (30.0 * u.km).to_value(u.cm)
D_CM = (5.0 * u.kpc).to_value(u.cm)
COS_I = math.cos(math.radians(60.0))
K_DISK = (30.0 / 0.5) ** 2 * COS_I
# photons / (cm2 s keV3) per unit of K: (8 pi / 3) 2 / (h^3 c^2) (1 km / 10 kpc)^2
PER_K = 8.0 * math.pi / 3.0 * 2.0 / (H_KEV_S**3 * C_CM_S**2) * ((1.0 * u.km) / (10.0 * u.kpc)).to_value("") ** 2
A_GRID = np.geomspace(1e-4, 300.0, 31)  # E / kT_in


def disk_integral(energy: float, t_in: float) -> float:
    """N(E) = cos i / D^2 * int_{r_in}^inf I_E(T(r)) 2 pi r dr, T = T_in (r / r_in)^-3/4,
    I_E = 2 E^2 / (h^3 c^2) / (exp(E / kT) - 1): over v = ln(r / r_in), in pieces
    between the radii where E / kT(r) runs geometrically from E / kT_in to it + 800."""
    a = energy / t_in

    def integrand(v: float) -> float:  # 2 pi r dr = 2 pi r_in^2 e^(2v) dv
        t = a * math.exp(0.75 * v)
        return 2.0 * math.pi * math.exp(2.0 * v - t) / -math.expm1(-t)  # 1 / (e^t - 1)

    edges = 4.0 / 3.0 * np.log(np.geomspace(a, a + 800.0, 61) / a)
    total = math.fsum(integrate.quad(integrand, lo, hi, epsabs=0.0, epsrel=1e-13, limit=200)[0]
                      for lo, hi in zip(edges[:-1], edges[1:]))
    intensity = 2.0 * energy**2 / (H_KEV_S**3 * C_CM_S**2)
    return COS_I / D_CM**2 * R_IN_CM**2 * intensity * total


def g_reference(a: float) -> float:
    """G(a) = int_a^inf t^(5/3) / (e^t - 1) dt: Gamma(8/3) zeta(8/3) minus the integral
    from 0 below a = 1, sum_k k^(-8/3) Gamma(8/3, k a) (upper incomplete gamma) above."""
    gamma = special.gamma(8.0 / 3.0)
    if a < 1.0:
        head = integrate.quad(lambda t: t ** (5.0 / 3.0) / math.expm1(t), 0.0, a, epsabs=0.0, epsrel=1e-13)[0]
        return gamma * special.zeta(8.0 / 3.0) - head
    k = np.arange(1.0, 800.0 / a + 2.0)
    return math.fsum(k ** (-8.0 / 3.0) * gamma * special.gammaincc(8.0 / 3.0, k * a))


def evaluate(x, K, Tin):
    return np.asarray(jf.DiskBB.evaluate(jnp.asarray(x, dtype=float), K, Tin))


def test_defaults_bounds_and_units():
    disk = jf.DiskBB()
    assert list(disk.parameters) == ["K", "Tin"]
    assert (disk.K.value, disk.K.bounds, disk.K.unit) == (1.0, (0.0, None), u.dimensionless_unscaled)
    assert (disk.Tin.value, disk.Tin.bounds, disk.Tin.unit) == (1.0, (1e-5, 1e3), u.keV)
    assert disk.K.free and disk.Tin.free
    assert jf.functions.function_type("DiskBB") is jf.DiskBB
    again = function_from_dict(jf.DiskBB(K=3.0, Tin=0.2).to_dict())
    assert again.K.value == 3.0 and again.Tin.value == 0.2


@pytest.mark.parametrize("t_in", [1.3, 0.01])  # a stellar-mass black hole, a quasar (116 000 K)
def test_photon_spectrum_is_the_integral_over_the_disk(t_in):
    energies = A_GRID * t_in
    reference = np.array([disk_integral(e, t_in) for e in energies])
    np.testing.assert_allclose(evaluate(energies, K_DISK, t_in), reference, rtol=1e-8, atol=0.0)


def test_g_to_1e_12_from_1e_8_to_700_and_across_the_branches():
    a = np.concatenate([np.geomspace(1e-8, 700.0, 157), [SWITCH - 1e-9, SWITCH, SWITCH + 1e-9]])
    t_in = 1.0  # N = PER_K K T_in^2 a^(-2/3) G(a): 2e-304 at a = 700, still a normal double
    g = evaluate(a * t_in, 1.0, t_in) / (PER_K * t_in**2) * a ** (2.0 / 3.0)
    np.testing.assert_allclose(g, [g_reference(x) for x in a], rtol=1e-12, atol=0.0)


def test_low_energies_rise_as_e_to_the_minus_two_thirds():
    slope = jax.grad(lambda log_e: jnp.log(jf.DiskBB.evaluate(jnp.exp(log_e), 5.0, 0.7)))
    for a in (1e-8, 1e-6):
        assert float(slope(math.log(a * 0.7))) == pytest.approx(-2.0 / 3.0, abs=1e-8)
    # N -> PER_K K T_in^2 a^(-2/3) Gamma(8/3) zeta(8/3) as a -> 0
    limit = PER_K * 5.0 * 0.7**2 * (1e-8) ** (-2.0 / 3.0) * special.gamma(8.0 / 3.0) * special.zeta(8.0 / 3.0)
    assert evaluate(1e-8 * 0.7, 5.0, 0.7) == pytest.approx(limit, rel=1e-9)


def test_high_energies_fall_as_the_incomplete_gamma_asymptote():
    # a^(-2/3) Gamma(8/3, a) ~ a e^-a (1 + 5/(3a) + 10/(9a^2) - 10/(27a^3) + ...); k >= 2 terms ~ e^-2a
    a = np.array([100.0, 300.0, 650.0])
    asymptote = PER_K * 2.0 * 1.5**2 * a * np.exp(-a) * (1 + 5 / (3 * a) + 10 / (9 * a**2) - 10 / (27 * a**3))
    np.testing.assert_allclose(evaluate(a * 1.5, 2.0, 1.5), asymptote, rtol=1e-8)
    assert np.all(np.diff(evaluate(np.geomspace(3.0, 600.0, 50), 1.0, 1.0)) < 0.0)


def test_energy_flux_is_two_sigma_t_in_to_the_fourth_r_in_squared_cos_i_over_d_squared():
    t_in = 0.9 * u.keV
    temperature = t_in.to(u.K, equivalencies=u.temperature_energy())
    bolometric = (2.0 * const.sigma_sb * temperature**4 * (R_IN_CM * u.cm) ** 2 * COS_I / (D_CM * u.cm) ** 2)
    expected = bolometric.to_value(u.keV / (u.cm**2 * u.s))
    spectrum = jax.jit(lambda e: jf.DiskBB.evaluate(e, K_DISK, t_in.value))
    # int E N dE = int E^2 N d(ln E), from E = 1e-9 kT_in (the rest is 1e-12 of the total)
    flux, _ = integrate.quad(lambda v: math.exp(2.0 * v) * float(spectrum(math.exp(v))),
                             math.log(1e-9 * 0.9), math.log(800.0 * 0.9), points=[math.log(2.8 * 0.9)],
                             epsabs=0.0, epsrel=1e-10, limit=200)
    assert flux == pytest.approx(expected, rel=1e-9)  # agrees to 3e-13


def test_gradients_match_finite_differences_and_the_hessian_compiles():
    energies = jnp.asarray(np.concatenate([np.geomspace(1e-3, 30.0, 12), [SWITCH * 0.8]]))

    def total(params):
        return jnp.sum(jnp.log(jf.DiskBB.evaluate(energies, params[0], params[1])))

    def per_energy(params):
        return jf.DiskBB.evaluate(energies, params[0], params[1])

    point = jnp.array([40.0, 0.8])
    jacobian = np.asarray(jax.jit(jax.jacfwd(per_energy))(point))
    assert np.all(np.isfinite(jacobian))
    for i, step in ((0, 1e-4), (1, 1e-6)):
        shift = np.zeros(2)
        shift[i] = step
        central = (np.asarray(per_energy(point + shift)) - np.asarray(per_energy(point - shift))) / (2 * step)
        np.testing.assert_allclose(jacobian[:, i], central, rtol=1e-7)
        np.testing.assert_allclose(np.asarray(jax.jacrev(per_energy)(point))[:, i], jacobian[:, i], rtol=1e-12)
    hessian = np.asarray(jax.jit(jax.hessian(total))(point))
    assert np.all(np.isfinite(hessian))
    gradient = jax.grad(total)
    shift = jnp.array([0.0, 1e-6])
    central = (np.asarray(gradient(point + shift)) - np.asarray(gradient(point - shift))) / 2e-6
    np.testing.assert_allclose(hessian[:, 1], central, rtol=1e-6, atol=1e-9)
    # vectorised over temperatures, as samplers do
    batch = jax.vmap(lambda t: jf.DiskBB.evaluate(energies, 40.0, t))(jnp.array([0.5, 0.8]))
    np.testing.assert_allclose(np.asarray(batch[1]), np.asarray(per_energy(point)), rtol=1e-14)


def test_derivatives_through_the_series_and_quadrature_switch_are_continuous():
    # d N / d T_in on either side of the switch (E = SWITCH T_in), against a finite difference
    derivative = jax.grad(lambda t: jf.DiskBB.evaluate(jnp.array(SWITCH), 1.0, t))
    for t_in in (1.0 - 1e-9, 1.0, 1.0 + 1e-9):
        central = (evaluate(SWITCH, 1.0, t_in + 1e-6) - evaluate(SWITCH, 1.0, t_in - 1e-6)) / 2e-6
        assert float(derivative(t_in)) == pytest.approx(float(central), rel=1e-7)
    below, above = evaluate([np.nextafter(SWITCH, 0.0), SWITCH], 1.0, 1.0)
    assert above / below - 1.0 == pytest.approx(0.0, abs=1e-13)


def test_zero_where_it_underflows_or_cold_with_finite_gradients():
    gradient = jax.grad(lambda p: jf.DiskBB.evaluate(jnp.array(5.0), p[0], p[1]), argnums=0)
    for t_in in (1e-5, 0.0):  # a = 5e5 (beyond the underflow), and a cold disk
        assert evaluate(5.0, 1.0, t_in) == 0.0
        assert np.all(np.isfinite(np.asarray(gradient(jnp.array([1.0, t_in])))))
    assert np.all(np.isfinite(np.asarray(jax.hessian(lambda p: jf.DiskBB.evaluate(jnp.array(5.0), p[0], p[1]))(
        jnp.array([1.0, 1e-5])))))
    assert evaluate(0.0, 1.0, 1.0) == np.inf  # N ~ E^(-2/3) diverges (integrably) at E = 0


def test_composition_with_redshift():
    shifted = jf.DiskBB(K=20.0, Tin=0.4).of(jf.Redshift(z=0.1))
    x = np.geomspace(0.1, 5.0, 7)
    assert list(shifted.parameters) == ["K_1", "Tin_1", "z_2"]
    np.testing.assert_allclose(shifted(x), evaluate(1.1 * x, 20.0, 0.4), rtol=1e-14)
    np.testing.assert_allclose(shifted(x), [disk_integral(1.1 * e, 0.4) * 20.0 / K_DISK for e in x], rtol=1e-8)


def test_a_fit_recovers_the_inner_temperature():
    from jointfit_xy import XYLike

    x = np.geomspace(0.3, 10.0, 40)
    truth = jf.DiskBB(K=400.0, Tin=0.8)
    rng = np.random.default_rng(7)
    y = np.asarray(truth(x)) * (1.0 + 0.02 * rng.normal(size=x.size))
    data = jf.DataList(XYLike("disk", x, y, yerr=0.02 * np.asarray(truth(x))))
    shape = jf.DiskBB(K=100.0, Tin=1.2)
    jl = jf.JointLikelihood(jf.Model(jf.PointSource("bh", 0.0, 0.0, spectral_shape=shape)), data)
    jl.fit(quiet=True)
    sigma = np.sqrt(np.diag(jl.covariance))
    assert np.all(np.isfinite(sigma)) and np.all(sigma > 0.0)
    assert abs(shape.Tin.value - 0.8) < 4.0 * sigma[1]
    assert abs(shape.K.value - 400.0) < 4.0 * sigma[0]
    assert sigma[1] < 0.01  # 2 % errors on 40 points pin T_in to about 1 %
