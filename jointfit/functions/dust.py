r"""Extinction and attenuation by dust: multiplicative factors :math:`10^{-0.4 A(\lambda)}`.

``Powerlaw() * Cardelli89(E_BV=0.2)`` reddens a power law. Each law gives the
extinction curve :math:`A(\lambda)/A(V)` of a published average, and
:math:`A(\lambda) = E(B-V)\,R_V\,A(\lambda)/A(V)` in magnitudes; the curve is
evaluated at the rest-frame wavelength :math:`\lambda = hc / (x (1+z))` of the energy
``x`` (keV). The curves are those of the ``dust_extinction`` package (Gordon 2024,
JOSS 9, 7023), written again in JAX so that :math:`E(B-V)`, :math:`R_V` and the
energy can be differentiated and :math:`R_V` fitted: where a law interpolates with a
cubic spline whose values depend on :math:`R_V` (Fitzpatrick 1999), the spline is
solved for in the compiled code.

Each law is published over a wavelength range. With ``outside_range="extend"`` (the
default) it is continued beyond, so that the transmission is defined at every energy:

* longward of the range (wavenumber :math:`w < w_0`, the range's long-wavelength end),
  :math:`A(w) = A(w_0)\,(w/w_0)^{\beta}` with :math:`\beta = d\ln A / d\ln w` at
  :math:`w_0`: the power law that continues the curve with its value and slope, so
  that neither jumps, falling monotonically to zero at long wavelengths as dust
  extinction does. For Cardelli89 and Odonnell94 that is their own infrared law,
  :math:`\beta = 1.61`; Fitzpatrick99 has :math:`\beta` = 1.27 to 1.10 (R_V 2 to 6),
  SMC_Gordon03 1.25, Gordon23 1.04 (at 32 micron), Calzetti00 3.4 at R_V = 4.05 (0.64
  at 5.65, steeper towards 3.7, where its near-IR attenuation vanishes);
* shortward of the range, :math:`A` keeps its value at the range's short end up to
  the Lyman limit (13.598 eV, 911.8 A, rest frame);
* above the Lyman limit the transmission is exactly 1: dust does not change X-rays
  (photoelectric absorption, including by grains, is :class:`TbAbs`'s job), and the
  neutral interstellar medium absorbs everything between 13.6 eV and ~0.1 keV anyway.

With ``outside_range="refuse"`` the transmission is NaN outside the published range,
calling the function there raises :class:`~jointfit.errors.ModelError`, and
``valid_energy_range()`` gives the observed-frame energies where it is defined, so
that data reaching outside are refused at setup.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property, partial
from typing import Any, ClassVar

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ModelError
from .base import OptionSpec, SpectralFunction
from .base import ParameterSpec as P

__all__ = ["Cardelli89", "CCM89", "Odonnell94", "Fitzpatrick99", "Gordon23", "Calzetti00", "SMC_Gordon03"]

# h c in keV micron, from the exact SI values of h, c and e (astropy's too)
HC_KEV_MICRON = 6.62607015e-34 * 299792458.0 / 1.602176634e-19 * 1e3
# ionisation energy of hydrogen (NIST), keV: dust's transmission is 1 above it
LYMAN_LIMIT_KEV = 13.598434599702e-3
_LYMAN_WAVENUMBER = LYMAN_LIMIT_KEV / HC_KEV_MICRON  # 1/micron
_LN10_OVER_2_5 = math.log(10.0) / 2.5
_OUTSIDE = ("extend", "refuse")


def _between(w: Any, lo: float, hi: float) -> Any:
    """``w`` clipped into ``[lo, hi]``, with derivative 1 at the ends themselves (a clip
    by maximum and minimum halves it there)."""
    return jnp.where(w < lo, lo, jnp.where(w > hi, hi, w))


def _smoothstep(t: Any, lo: float, hi: float) -> Any:
    """dust_extinction's first-order smoothstep: 0 below ``lo``, 1 above ``hi``, cubic between."""
    s = jnp.clip((t - lo) / (hi - lo), 0.0, 1.0)
    return (3.0 - 2.0 * s) * s * s


# -- Cardelli, Clayton & Mathis (1989) and O'Donnell (1994) ------------------------------
_CCM89_OPTICAL = ((0.32999, -0.7753, 0.01979, 0.72085, -0.02427, -0.50447, 0.17699, 1.0),
                  (-2.09002, 5.3026, -0.62251, -5.38434, 1.07233, 2.28305, 1.41338, 0.0))
_O94_OPTICAL = ((-0.505, 1.647, -0.827, -1.718, 1.137, 0.701, -0.609, 0.104, 1.0),
                (3.347, -10.805, 5.491, 11.102, -7.985, -3.989, 2.908, 1.952, 0.0))


def _ccm_curve(w: Any, R_V: Any, optical: tuple[tuple[float, ...], tuple[float, ...]]) -> Any:
    """A(lambda)/A(V) of CCM89's form, with its (or O'Donnell's) optical polynomials."""
    ir = w**1.61
    y = w - 1.82
    a_opt, b_opt = jnp.polyval(jnp.array(optical[0]), y), jnp.polyval(jnp.array(optical[1]), y)
    fuv_rise = w >= 5.9
    y = w - 5.9
    a_nuv = (1.752 - 0.316 * w - 0.104 / ((w - 4.67) ** 2 + 0.341)
             + jnp.where(fuv_rise, -0.04473 * y**2 - 0.009779 * y**3, 0.0))
    b_nuv = (-3.09 + 1.825 * w + 1.206 / ((w - 4.62) ** 2 + 0.263)
             + jnp.where(fuv_rise, 0.2130 * y**2 + 0.1207 * y**3, 0.0))
    y = w - 8.0
    a_fuv = jnp.polyval(jnp.array((-0.070, 0.137, -0.628, -1.073)), y)
    b_fuv = jnp.polyval(jnp.array((0.374, -0.42, 4.257, 13.67)), y)
    a = jnp.where(w < 1.1, 0.574 * ir, jnp.where(w < 3.3, a_opt, jnp.where(w <= 8.0, a_nuv, a_fuv)))
    b = jnp.where(w < 1.1, -0.527 * ir, jnp.where(w < 3.3, b_opt, jnp.where(w <= 8.0, b_nuv, b_fuv)))
    return a + b / R_V


# where CCM89's pieces meet (infrared, optical, near-UV, far-UV) and its far-UV rise begins
_CCM_KINKS = (1.1, 3.3, 5.9, 8.0)


# -- Fitzpatrick (1999) and Gordon et al. (2003): FM90 in the UV, a spline below ----------
_UV_CUT = 10000.0 / 2700.0  # 1/micron: FM90 shortward, the spline longward
_UV_ANCHORS = 10000.0 / np.array([2700.0, 2600.0])  # where the spline meets FM90


def _fm90(w: Any, C1: Any, C2: Any, C3: float, C4: float, xo: float, gamma: float) -> Any:
    """Fitzpatrick & Massa (1990): E(lambda - V)/E(B - V) in the UV."""
    w2 = w**2
    y = w - 5.9
    return (C1 + C2 * w + C3 * (w2 / ((w2 - xo**2) ** 2 + w2 * gamma**2))
            + jnp.where(w >= 5.9, C4 * (0.5392 * y**2 + 0.05644 * y**3), 0.0))


class _NaturalSpline:
    """Natural cubic spline through fixed knots ``w``, linear in the values at them:
    scipy's ``CubicSpline(bc_type="natural")`` of each unit vector gives the
    polynomial coefficients per unit value once, so values that depend on traced
    parameters (R_V) make the spline in the compiled code, as dust_extinction makes it."""

    def __init__(self, knots: np.ndarray) -> None:
        self.knots = np.asarray(knots, dtype=float)

    @cached_property
    def basis(self) -> np.ndarray:
        """(4 powers, n - 1 intervals, n knot values), highest power first."""
        from scipy.interpolate import CubicSpline  # on first use: importing jointfit loads no scipy

        return CubicSpline(self.knots, np.eye(len(self.knots)), bc_type="natural").c

    def __call__(self, w: Any, values: Any) -> Any:
        coefficients = jnp.tensordot(jnp.asarray(self.basis), values, axes=([2], [0]))
        # the interval: how many inner knots lie at or below w (scipy's choice at a knot)
        i = jnp.sum(jnp.asarray(w)[..., None] >= self.knots[1:-1], axis=-1)
        dw = w - jnp.asarray(self.knots)[i]
        c = coefficients[:, i]
        return ((c[0] * dw + c[1]) * dw + c[2]) * dw + c[3]


_F99_KNOTS = np.concatenate([[0.0], 10000.0 / np.array([26500.0, 12200.0, 6000.0, 5470.0, 4670.0, 4110.0]),
                             _UV_ANCHORS])
_F99_SPLINE = _NaturalSpline(_F99_KNOTS)
# the spline's knots where it is used, where FM90 takes over, FM90's far-UV rise
_F99_KINKS = (*_F99_KNOTS[1:-2], _UV_CUT, 5.9)


def _f99_curve(w: Any, R_V: Any) -> Any:
    """A(lambda)/A(V) of Fitzpatrick (1999), as dust_extinction's F99 (>= 1.6)."""
    C2 = -0.824 + 4.717 / R_V
    C1 = 2.030 - 3.007 * C2

    def uv(t: Any) -> Any:
        return _fm90(t, C1, C2, 3.23, 0.41, 4.596, 0.99) / R_V + 1.0

    # the optical values in Table 4 of F99 are E(lambda - V)/E(B - V) + R_V; the
    # near-IR ones scale with R_V; zero extinction at infinite wavelength
    values = jnp.stack([
        jnp.zeros_like(R_V), 0.265 * R_V / 3.1 / R_V, 0.829 * R_V / 3.1 / R_V,
        (-0.426 + 1.0044 * R_V) / R_V, (-0.050 + 1.0016 * R_V) / R_V, (0.701 + 1.0016 * R_V) / R_V,
        (1.208 + 1.0032 * R_V - 0.00033 * R_V**2) / R_V, uv(_UV_ANCHORS[0]), uv(_UV_ANCHORS[1]),
    ])
    return jnp.where(w >= _UV_CUT, uv(w), _F99_SPLINE(jnp.minimum(w, _UV_CUT), values))


_G03_SMC_RV = 2.74
_G03_SMC_FM90 = (-4.959, 2.264, 0.389, 0.461, 4.6, 1.0)
_G03_SMC_KNOTS = np.concatenate([[0.0], 1.0 / np.array([2.198, 1.65, 1.25, 0.81, 0.65, 0.55, 0.44, 0.37]),
                                 _UV_ANCHORS])
_G03_SMC_SPLINE = _NaturalSpline(_G03_SMC_KNOTS)
_G03_SMC_KINKS = (*_G03_SMC_KNOTS[1:-2], _UV_CUT, 5.9)


def _g03_smc_curve(w: Any, R_V: Any) -> Any:
    """A(lambda)/A(V) of Gordon et al.'s (2003) SMC bar average, as dust_extinction's
    G03_SMCBar (>= 1.6); the curve is the published one whatever R_V."""
    del R_V
    anchors = _fm90(_UV_ANCHORS, *_G03_SMC_FM90) / _G03_SMC_RV + 1.0
    # 2.198 and 1.25 micron values as revised by Gordon et al. (2016) for a smooth curve
    values = jnp.concatenate([jnp.array([0.0, 0.11, 0.169, 0.25, 0.567, 0.801, 1.00, 1.374, 1.672]), anchors])
    return jnp.where(w >= _UV_CUT, _fm90(w, *_G03_SMC_FM90) / _G03_SMC_RV + 1.0,
                     _G03_SMC_SPLINE(jnp.minimum(w, _UV_CUT), values))


# -- Gordon et al. (2023) --------------------------------------------------------------------
_G23_RENORM = 0.9854  # dust_extinction 1.7's renormalisation (its "G23 Renormalization")
_G23_IR_A = (0.38526, 1.68467, 0.78791, 4.30578, 4.78338,
             0.06652, 9.8434, 2.21205, -0.24703, 0.0267, 19.58294, 17.0, -0.27)
_G23_OPT_A = (-0.35848, 0.7122, 0.08746, -0.05403, 0.00674,
              0.03893, 2.288, 0.243, 0.02965, 2.054, 0.179, 0.01747, 1.587, 0.243)
_G23_OPT_B = (0.12354, -2.68335, 2.01901, -0.39299, 0.03355,
              0.18453, 2.288, 0.243, 0.19728, 2.054, 0.179, 0.1713, 1.587, 0.243)
_G23_UV_A = (0.81297, 0.2775, 1.06295, 0.11303, 4.60, 0.99)
_G23_UV_B = (-2.97868, 1.89808, 3.10334, 0.65484, 4.60, 0.99)
# the ends of the blends (0.9-1.1 and 0.30-0.33 micron, and the infrared's two power
# laws around 4.3 micron: smoothsteps, whose second derivative jumps) and FM90's far-UV rise
_G23_KINKS = (1.0 / (_G23_IR_A[3] + _G23_IR_A[4] / 2), 1.0 / (_G23_IR_A[3] - _G23_IR_A[4] / 2),
              1.0 / 1.1, 1.0 / 0.9, 1.0 / 0.33, 1.0 / 0.3, 5.9)


def _modified_drude(wave: Any, scale: float, center: float, fwhm: float, asym: float) -> Any:
    """Drude profile in wavelength with a variable asymmetry (Gordon et al. 2021)."""
    gamma = 2.0 * fwhm / (1.0 + jnp.exp(asym * (wave - center)))
    return scale * (gamma / center) ** 2 / ((wave / center - center / wave) ** 2 + (gamma / center) ** 2)


def _g23_ir(w: Any) -> Any:
    """G23's near/mid-IR intercept term: two power laws joined smoothly, two silicate features."""
    scale, alpha, alpha2, swave, swidth, *silicates = _G23_IR_A
    wave = 1.0 / w
    pow1 = scale * wave ** (-alpha)
    pow2 = scale * (swave ** (-alpha) / swave ** (-alpha2)) * wave ** (-alpha2)
    weight = _smoothstep(wave, swave - swidth / 2, swave + swidth / 2)
    return (pow1 * (1.0 - weight) + pow2 * weight
            + _modified_drude(wave, *silicates[:4]) + _modified_drude(wave, *silicates[4:]))


def _g23_optical(w: Any, params: tuple[float, ...]) -> Any:
    """Quartic polynomial plus three Drude profiles in wavenumber (Maiz Apellaniz 2020's form)."""
    value = jnp.polyval(jnp.array(params[4::-1]), w)
    for amplitude, center, fwhm in (params[5:8], params[8:11], params[11:14]):
        value = value + amplitude * (fwhm / center) ** 2 / ((w / center - center / w) ** 2 + (fwhm / center) ** 2)
    return value


def _g23_curve(w: Any, R_V: Any, renorm: bool) -> Any:
    """A(lambda)/A(V) of Gordon et al. (2023), as dust_extinction's G23."""
    wave = 1.0 / w
    ir_a, ir_b = _g23_ir(w), -1.01251 * w**1.06099
    opt_a, opt_b = _g23_optical(w, _G23_OPT_A), _g23_optical(w, _G23_OPT_B)
    uv_a, uv_b = _fm90(w, *_G23_UV_A), _fm90(w, *_G23_UV_B)
    # optical-IR overlap 0.9-1.1 micron, UV-optical 0.30-0.33 micron: smooth blends
    optir = _smoothstep(wave, 0.9, 1.1)
    uvopt = _smoothstep(wave, 0.3, 0.33)

    def piecewise(ir: Any, opt: Any, uv: Any) -> Any:
        return jnp.where(
            w < 1.0 / 1.1, ir,
            jnp.where(w <= 1.0 / 0.9, (1.0 - optir) * opt + optir * ir,
                      jnp.where(w < 1.0 / 0.33, opt,
                                jnp.where(w <= 1.0 / 0.3, (1.0 - uvopt) * uv + uvopt * opt, uv))))

    curve = piecewise(ir_a, opt_a, uv_a) + piecewise(ir_b, opt_b, uv_b) * (1.0 / R_V - 1.0 / 3.1)
    return curve / _G23_RENORM if renorm else curve


# -- Calzetti et al. (2000) ------------------------------------------------------------------
def _calzetti_curve(w: Any, R_V: Any) -> Any:
    """k(lambda)/R_V of Calzetti et al. (2000), their eq. 4."""
    blue = 2.659 * (-2.156 + 1.509 * w - 0.198 * w**2 + 0.011 * w**3) + R_V
    red = 2.659 * (-1.857 + 1.040 * w) + R_V
    return jnp.where(w > 1.0 / 0.63, blue, red) / R_V


# -- the multiplicative factor ---------------------------------------------------------------
def _magnitudes(x: Any, E_BV: Any, R_V: Any, redshift: Any, outside_range: str,
                curve: Callable[[Any, Any], Any], wavenumbers: tuple[float, float]) -> Any:
    """A(lambda) in magnitudes at observed energies ``x`` (keV); NaN outside the law's
    range when ``outside_range`` is "refuse"."""
    if outside_range not in _OUTSIDE:
        raise ModelError(f"outside_range must be one of {list(_OUTSIDE)}, got {outside_range!r}")
    lo, hi = wavenumbers
    w = jnp.asarray(x) * (1.0 + redshift) / HC_KEV_MICRON  # rest-frame 1/micron
    # the curve is evaluated inside its range only: no branch meets an argument it is not made for
    a_over_av = curve(_between(w, lo, hi), R_V)
    if outside_range == "refuse":
        return jnp.where((w >= lo) & (w <= hi), E_BV * R_V * a_over_av, jnp.nan)
    # continue longward with the power law of the curve's value and slope at the end
    edge, slope = jax.jvp(lambda t: curve(t, R_V), (jnp.asarray(lo, dtype=float),), (jnp.ones((), dtype=float),))
    beta = lo * slope / edge
    longward = w < lo
    ratio = jnp.where(longward, w / lo, 1.0)
    a_over_av = jnp.where(longward, edge * ratio**beta, a_over_av)
    return jnp.where(w > _LYMAN_WAVENUMBER, 0.0, E_BV * R_V * a_over_av)


# one program per law: called outside compiled code (plots, ``law(x)``), the curves'
# hundred-odd operations would each be dispatched, and compiled per shape, one by one
_compiled = partial(jax.jit, static_argnames="outside_range")


class _DustLaw(SpectralFunction):
    """Parameters and range handling shared by the dust laws (a ``_`` name: not in the registry)."""

    y_unit = u.dimensionless_unscaled
    absorption = True
    E_BV = P(0.1, bounds=(0.0, 10.0), unit="mag", description="colour excess E(B-V) of the dust, in magnitudes")
    R_V = P(3.1, bounds=(2.0, 6.0), free=False, description="ratio of total to selective extinction A(V)/E(B-V)")
    redshift = P(0.0, bounds=(0.0, 15.0), free=False, description="the redshift of the dust")
    outside_range = OptionSpec("extend", allowed=_OUTSIDE,
                               description="beyond the published wavelengths: continue the law, or NaN")
    # the published range, rest-frame wavenumbers (1/micron)
    wavenumber_range: ClassVar[tuple[float, float]] = (0.3, 10.0)
    # rest-frame wavenumbers (1/micron) inside the range where the curve is not smooth
    _kinks: ClassVar[tuple[float, ...]] = ()

    @classmethod
    def rest_energy_range(cls) -> tuple[float, float]:
        """The published range as rest-frame energies (keV)."""
        lo, hi = cls.wavenumber_range
        return (lo * HC_KEV_MICRON, hi * HC_KEV_MICRON)

    def _redshifts(self) -> tuple[float, float]:
        """The smallest and largest redshift the fit may take."""
        redshift = self._parameters["redshift"]
        if not (redshift.free or redshift.is_linked):
            return redshift.value, redshift.value
        low, high = redshift.bounds
        return (-1.0 if low is None else low, math.inf if high is None else high)

    def valid_energy_range(self) -> tuple[float, float]:
        """Observed-frame energies (keV) where the law is defined: everywhere with
        ``outside_range="extend"``; with "refuse", the published range divided by
        1 + z, and for a free (or linked) redshift the energies inside it for every
        redshift within the bounds.

        Raises
        ------
        ModelError
            With "refuse", if no energy is inside the range for every allowed redshift.
        """
        if self._options["outside_range"] == "extend":
            return (0.0, math.inf)
        (lo, hi), (z_low, z_high) = self.rest_energy_range(), self._redshifts()
        low, high = lo / (1.0 + z_low), hi / (1.0 + z_high)
        if not low < high:
            raise ModelError(
                f"{self.name} refuses energies outside {lo:.4g}-{hi:.4g} keV (rest frame): with "
                f"the redshift between {z_low} and {z_high} no energy is inside for every redshift; "
                f"narrow the redshift's bounds or set outside_range='extend'")
        return (low, high)

    @classmethod
    def kink_wavenumbers(cls) -> np.ndarray:
        """Rest-frame wavenumbers (1/micron) where the curve is not smooth: where its
        pieces meet (a jump, as Calzetti00's at 0.63 micron, or a jump in a derivative),
        the knots of its spline, and the ends of the published range (where the
        continuations begin)."""
        return np.unique(np.concatenate([cls._kinks, cls.wavenumber_range]))

    def breakpoints(self) -> np.ndarray:
        """Observed-frame energies (keV) of the law's kinks (:meth:`kink_wavenumbers`)
        and, when the law is extended, of the Lyman limit (where the transmission jumps
        to 1), when the redshift is fixed: integrals over energy split there. Inside a
        filter's band they are what keeps its Gauss rule exact for reddened spectra
        (:mod:`jointfit.filters`); with a free redshift nothing is fixed."""
        redshift = self._parameters["redshift"]
        if redshift.free or redshift.is_linked:
            return np.empty(0)
        energies = self.kink_wavenumbers() * HC_KEV_MICRON
        if self._options["outside_range"] == "extend":
            energies = np.append(energies, LYMAN_LIMIT_KEV)
        return np.unique(energies) / (1.0 + redshift.value)

    def __call__(self, x: Any) -> Any:
        if self._options["outside_range"] == "refuse":
            energy = x.to_value(u.keV, equivalencies=u.spectral()) if isinstance(x, u.Quantity) else x
            lo, hi = self.rest_energy_range()
            z = self._parameters["redshift"].value
            outside = (np.asarray(energy) < lo / (1.0 + z)) | (np.asarray(energy) > hi / (1.0 + z))
            if np.any(outside):
                raise ModelError(
                    f"{self.name} is defined between {lo / (1.0 + z):.6g} and {hi / (1.0 + z):.6g} keV "
                    f"(observed frame) and refuses energies outside (outside_range='refuse')")
        return super().__call__(x)


class Cardelli89(_DustLaw):
    r"""Milky Way extinction of Cardelli, Clayton & Mathis (1989, ApJ 345, 245):
    :math:`10^{-0.4\,E(B-V)\,R_V\,(a(x) + b(x)/R_V)}`, the :math:`R_V`-dependent average.

    Published from 0.1 to 3.33 micron (0.372-12.4 eV rest frame), for :math:`R_V` from 2
    to 6. Longward of 3.33 micron its own infrared law :math:`A \propto
    \lambda^{-1.61}` continues; shortward of 0.1 micron A keeps its value at 0.1
    micron up to the Lyman limit, above which the transmission is 1 (see
    :mod:`jointfit.functions.dust`). Values as dust_extinction's ``CCM89``.
    """

    R_V = P(3.1, bounds=(2.0, 6.0), free=False, description="ratio of total to selective extinction A(V)/E(B-V)")
    wavenumber_range = (0.3, 10.0)
    _kinks = _CCM_KINKS

    @staticmethod
    @_compiled
    def evaluate(x: Any, E_BV: Any, R_V: Any, redshift: Any, outside_range: str = "extend") -> Any:
        mag = _magnitudes(x, E_BV, R_V, redshift, outside_range,
                          lambda w, rv: _ccm_curve(w, rv, _CCM89_OPTICAL), Cardelli89.wavenumber_range)
        return jnp.exp(-_LN10_OVER_2_5 * mag)


class CCM89(Cardelli89):
    """The same law as :class:`Cardelli89` under dust_extinction's name."""


class Odonnell94(_DustLaw):
    r"""Cardelli, Clayton & Mathis (1989) with the optical (0.3-0.9 micron) polynomials
    of O'Donnell (1994, ApJ 422, 158).

    Range, :math:`R_V` bounds and the continuation outside as :class:`Cardelli89`.
    Values as dust_extinction's ``O94``.
    """

    R_V = P(3.1, bounds=(2.0, 6.0), free=False, description="ratio of total to selective extinction A(V)/E(B-V)")
    wavenumber_range = (0.3, 10.0)
    _kinks = _CCM_KINKS

    @staticmethod
    @_compiled
    def evaluate(x: Any, E_BV: Any, R_V: Any, redshift: Any, outside_range: str = "extend") -> Any:
        mag = _magnitudes(x, E_BV, R_V, redshift, outside_range,
                          lambda w, rv: _ccm_curve(w, rv, _O94_OPTICAL), Odonnell94.wavenumber_range)
        return jnp.exp(-_LN10_OVER_2_5 * mag)


class Fitzpatrick99(_DustLaw):
    r"""Milky Way extinction of Fitzpatrick (1999, PASP 111, 63), :math:`R_V`-dependent:
    Fitzpatrick & Massa's (1990) UV form shortward of 0.27 micron, and longward a
    natural cubic spline through his optical and near-IR anchors and zero at infinite
    wavelength, as dust_extinction's ``F99`` (1.6 and later; 1.2-1.5 used a
    not-a-knot spline: up to 0.4 % different shortward of 1 micron, 5 % at 3.3).

    Published from 0.1 to 3.33 micron for :math:`R_V` from 2 to 6 (a free
    :math:`R_V` makes the spline in the compiled code). Longward, a power law with the
    curve's value and logarithmic slope at 3.33 micron; shortward, as
    :class:`Cardelli89`.
    """

    R_V = P(3.1, bounds=(2.0, 6.0), free=False, description="ratio of total to selective extinction A(V)/E(B-V)")
    wavenumber_range = (0.3, 10.0)
    _kinks = _F99_KINKS

    @staticmethod
    @_compiled
    def evaluate(x: Any, E_BV: Any, R_V: Any, redshift: Any, outside_range: str = "extend") -> Any:
        mag = _magnitudes(x, E_BV, R_V, redshift, outside_range, _f99_curve, Fitzpatrick99.wavenumber_range)
        return jnp.exp(-_LN10_OVER_2_5 * mag)


class Gordon23(_DustLaw):
    r"""Milky Way extinction of Gordon et al. (2023, ApJ 950, 86), :math:`R_V`-dependent,
    from the far UV to the mid-IR: :math:`a(x) + b(x)\,(1/R_V - 1/3.1)`, as
    dust_extinction's ``G23``.

    Published from 0.0912 to 32 micron for :math:`R_V` from 2.3 to 5.6. Longward of 32
    micron, a power law with the curve's value and logarithmic slope there; shortward
    of 912 A the Lyman limit is reached within 0.03 % of the energy.
    ``renorm="yes"`` (default) divides by 0.9854, as dust_extinction 1.7 does to put
    A(V) on the spectroscopic scale; ``"no"`` gives the curve as published (and as
    dust_extinction 1.2-1.6).
    """

    R_V = P(3.1, bounds=(2.3, 5.6), free=False, description="ratio of total to selective extinction A(V)/E(B-V)")
    renorm = OptionSpec("yes", allowed=("yes", "no"), aliases={"true": "yes", "false": "no"},
                        description="divide the curve by 0.9854 (dust_extinction >= 1.7)")
    wavenumber_range = (1.0 / 32.0, 1.0 / 0.0912)
    _kinks = _G23_KINKS

    @staticmethod
    @partial(jax.jit, static_argnames=("outside_range", "renorm"))
    def evaluate(x: Any, E_BV: Any, R_V: Any, redshift: Any, outside_range: str = "extend",
                 renorm: str = "yes") -> Any:
        def curve(w: Any, rv: Any) -> Any:
            return _g23_curve(w, rv, renorm == "yes")

        mag = _magnitudes(x, E_BV, R_V, redshift, outside_range, curve, Gordon23.wavenumber_range)
        return jnp.exp(-_LN10_OVER_2_5 * mag)


class Calzetti00(_DustLaw):
    r"""Attenuation by dust in starburst galaxies of Calzetti et al. (2000, ApJ 533,
    682), their eq. 4: :math:`A(\lambda) = E(B-V)\,k(\lambda)` with
    :math:`k = 2.659\,(-2.156 + 1.509/\lambda - 0.198/\lambda^2 + 0.011/\lambda^3) + R_V`
    from 0.12 to 0.63 micron and :math:`k = 2.659\,(-1.857 + 1.040/\lambda) + R_V` from
    0.63 to 2.20 micron (the two meet with a step of 0.025 in k at 0.63 micron).

    ``E_BV`` is the colour excess of the stellar continuum, :math:`R_V = 4.05 \pm 0.80`;
    its bounds are 3.7 (below 3.68, :math:`k < 0` at 2.2 micron: the formula would
    brighten the near-IR) and 5.65 (two standard deviations up). Longward of 2.2 micron, a power law with the
    curve's value and logarithmic slope there (the formula itself would cross zero at
    3.1 micron); shortward of 0.12 micron and above the Lyman limit, as
    :class:`Cardelli89`.
    """

    R_V = P(4.05, bounds=(3.7, 5.65), free=False, description="ratio of total to selective attenuation A(V)/E(B-V)")
    wavenumber_range = (1.0 / 2.2, 1.0 / 0.12)
    _kinks = (1.0 / 0.63,)

    @staticmethod
    @_compiled
    def evaluate(x: Any, E_BV: Any, R_V: Any, redshift: Any, outside_range: str = "extend") -> Any:
        mag = _magnitudes(x, E_BV, R_V, redshift, outside_range, _calzetti_curve, Calzetti00.wavenumber_range)
        return jnp.exp(-_LN10_OVER_2_5 * mag)


class SMC_Gordon03(_DustLaw):
    r"""Extinction in the bar of the Small Magellanic Cloud, the average of Gordon et
    al. (2003, ApJ 594, 279), as dust_extinction's ``G03_SMCBar``: no 2175 A bump, a
    steep far-UV rise.

    The curve :math:`A(\lambda)/A(V)` is the published one; ``R_V`` (2.74 +- 0.13 for
    the average, bounds two standard deviations) only converts ``E_BV`` to
    :math:`A(V)`. Range 0.1 to 3.33 micron; the continuation outside as
    :class:`Fitzpatrick99`. Values as dust_extinction 1.6 and later (natural spline;
    1.2-1.5's not-a-knot spline differs by up to 0.2 % shortward of 1 micron, 15 % at 3.3).
    """

    R_V = P(2.74, bounds=(2.48, 3.0), free=False, description="ratio of total to selective extinction A(V)/E(B-V)")
    wavenumber_range = (0.3, 10.0)
    _kinks = _G03_SMC_KINKS

    @staticmethod
    @_compiled
    def evaluate(x: Any, E_BV: Any, R_V: Any, redshift: Any, outside_range: str = "extend") -> Any:
        mag = _magnitudes(x, E_BV, R_V, redshift, outside_range, _g03_smc_curve, SMC_Gordon03.wavenumber_range)
        return jnp.exp(-_LN10_OVER_2_5 * mag)
