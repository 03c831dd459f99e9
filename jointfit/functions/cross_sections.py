"""Photoabsorption cross-sections of cold interstellar matter, per hydrogen atom.

Plain numpy, evaluated once per (model, abundance table) on a fine energy grid that
:mod:`jointfit.functions.absorption` interpolates inside compiled code. Sources:

- every element, neutral atom: the analytic subshell fits of Verner & Yakovlev (1995,
  A&AS 109, 125) and, for the outer shells of the Opacity Project elements, of
  Verner, Ferland, Korista & Yakovlev (1996, ApJ 465, 487), combined by the rules of
  Verner's reference routine ``phfit2`` (package data ``verner_neutral.ecsv``);
- for the interstellar medium of Wilms, Allen & McCray (2000, ApJ 542, 914; "tbabs"):
  hydrogen after Band et al. (1990, A&A 237, 267), helium with its autoionisation
  resonances and molecular hydrogen after Yan, Sadeghpour & Dalgarno (1998, ApJ 496,
  1044), grains with the MRN size distribution and the self-shielding integral of
  Wilms et al.'s appendix;
- abundances: package data ``abundances.ecsv`` (angr, aspl, wilm, lodd).

Energies are in eV inside this module; cross-sections in cm^2.
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache

import numpy as np
from scipy.special import gamma as gamma_function
from scipy.special import gammainc

__all__ = [
    "ABUNDANCE_TABLES",
    "abundances",
    "atomic_cross_section",
    "edge_energies",
    "ism_cross_section",
    "photoelectric_cross_section",
]

ABUNDANCE_TABLES = ("angr", "aspl", "wilm", "lodd")
_MBARN = 1e-18  # cm^2
_AMU = 1.6605655e-24  # g, the value Wilms et al. use
_DATA = importlib.resources.files("jointfit.functions") / "data"

# Ground-state shell structure used by phfit2's rules, for neutral atoms Z = 1..30:
# the number of occupied subshells and the outermost "inner" subshell.
_N_SHELLS = (1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7)
_N_INNER = (0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5)
_ORBITAL_L = (0, 0, 1, 0, 1, 2, 0)  # l of subshells 1s 2s 2p 3s 3p 3d 4s


def _read_ecsv(name: str):
    from astropy.table import Table  # astropy.table costs 0.3 s to import: only when needed

    with importlib.resources.as_file(_DATA / name) as path:
        return Table.read(path, format="ascii.ecsv")


@lru_cache(maxsize=1)
def _verner_rows() -> dict[int, dict[int, tuple[float, ...]]]:
    """``{Z: {shell: fit parameters}}``; shell 0 is the outer-shell fit."""
    rows: dict[int, dict[int, tuple[float, ...]]] = {}
    for row in _read_ecsv("verner_neutral.ecsv"):
        values = tuple(float(row[c]) for c in ("E_th", "E_0", "sigma_0", "y_a", "P", "y_w", "y_0", "y_1"))
        rows.setdefault(int(row["Z"]), {})[int(row["shell"])] = values
    return rows


@lru_cache(maxsize=None)
def abundances(table: str) -> np.ndarray:
    """Abundances by number relative to H for Z = 1..30 (index Z - 1)."""
    if table not in ABUNDANCE_TABLES:
        raise ValueError(f"unknown abundance table {table!r}; known tables are {list(ABUNDANCE_TABLES)}")
    return np.asarray(_read_ecsv("abundances.ecsv")[table], dtype=float)


def _subshell_fit(energy: np.ndarray, fit: tuple[float, ...], l: int) -> np.ndarray:
    _, e0, sigma0, ya, p, yw, _, _ = fit
    y = energy / e0
    return sigma0 * ((y - 1.0) ** 2 + yw**2) * y ** (0.5 * p - 5.5 - l) * (1.0 + np.sqrt(y / ya)) ** (-p)


def _outer_shell_fit(energy: np.ndarray, fit: tuple[float, ...]) -> np.ndarray:
    _, e0, sigma0, ya, p, yw, y0, y1 = fit
    x = energy / e0 - y0
    y = np.sqrt(x * x + y1 * y1)
    return sigma0 * ((x - 1.0) ** 2 + yw**2) * y ** (0.5 * p - 5.5) * (1.0 + np.sqrt(y / ya)) ** (-p)


def atomic_cross_section(z: int, energy: np.ndarray) -> np.ndarray:
    """Total photoionisation cross-section of the neutral atom ``z`` (1..30), in cm^2,
    at ``energy`` in eV (Verner & Yakovlev 1995; Verner et al. 1996).

    The outer-shell fit of an Opacity Project element replaces its subshell fits
    below the threshold of the outermost inner shell, as ``phfit2`` does.
    """
    energy = np.asarray(energy, dtype=float)
    fits = _verner_rows()[z]
    n_shells = 7 if z > 18 else _N_SHELLS[z - 1]
    n_inner = _N_INNER[z - 1]
    if z in (15, 17, 19) or (z > 20 and z != 26):
        inner_edge = 0.0  # no Opacity Project fit: subshell fits everywhere
    elif z < 3:
        inner_edge = np.inf
    else:
        inner_edge = fits[n_inner][0]
    total = np.zeros_like(energy)
    for shell in range(1, n_shells + 1):
        fit = fits.get(shell)
        if fit is None:
            continue
        above_threshold = energy >= fit[0]
        subshell = shell <= n_inner
        if subshell:
            value = _subshell_fit(energy, fit, _ORBITAL_L[shell - 1])
        else:
            below_inner = energy < inner_edge
            use_outer = below_inner & (shell == n_shells)
            value = np.where(below_inner, 0.0, _subshell_fit(energy, fit, _ORBITAL_L[shell - 1]))
            if use_outer.any():
                value = np.where(use_outer, _outer_shell_fit(energy, fits[0]), value)
        total += np.where(above_threshold, value, 0.0)
    return total * _MBARN


def edge_energies(elements: tuple[int, ...]) -> np.ndarray:
    """Subshell thresholds (eV) of the given elements, sorted."""
    rows = _verner_rows()
    return np.unique([fit[0] for z in elements for shell, fit in rows[z].items() if shell > 0])


# -- Wilms, Allen & McCray (2000) ------------------------------------------------------

#: Elements tbabs includes (Wilms et al. 2000, Table 2, less P, Ti and Mn as in tbabs),
#: their masses in amu and gas-phase fractions (1 - the fraction depleted into grains).
TBABS_ELEMENTS = (1, 2, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 20, 24, 26, 27, 28)
TBABS_MASS = (1.0, 4.0, 12.0, 14.0, 16.0, 20.0, 23.0, 24.0, 27.0, 28.0, 32.0, 35.0, 40.0, 40.0, 52.0, 56.0,
              59.0, 59.0)
TBABS_GAS_FRACTION = (1.0, 1.0, 0.5, 1.0, 0.6, 1.0, 0.25, 0.2, 0.02, 0.1, 0.6, 0.5, 1.0, 0.003, 0.03, 0.3, 0.05,
                      0.04)
H2_FRACTION = 0.2  # fraction of hydrogen nuclei in H2
GRAIN_DENSITY = 1.0  # g / cm^3
GRAIN_SIZES = (0.025e-4, 0.25e-4)  # cm, MRN size range
GRAIN_SIZE_INDEX = 3.5  # dn/da ~ a^-3.5


def hydrogen_cross_section(energy: np.ndarray) -> np.ndarray:
    """Atomic hydrogen, hydrogenic form of Band et al. (1990), cm^2."""
    threshold = 13.599
    y = 2.0 * np.maximum(energy, threshold) / threshold
    sigma = 605.0 / (y**1.5 * (1.0 + np.sqrt(y)) ** 4) * _MBARN
    return np.where(energy >= threshold, sigma, 0.0)


_HE_POLYNOMIAL = (1.0, -4.7416, 14.8200, -30.8678, 37.3584, -23.4585, 5.9133)  # Yan et al. 1998, Table 4
_HE_RESONANCES = (  # (q, nu, Gamma [Ry]): Fernley, Taylor & Seaton (1987); Oza (1986)
    (2.81, 1.610, 2.64061e-3),
    (2.51, 2.795, 6.20116e-4),
    (2.45, 3.817, 2.56061e-4),
    (2.44, 4.824, 1.320159e-4),
)


def helium_cross_section(energy: np.ndarray) -> np.ndarray:
    """Neutral helium after Yan et al. (1998) with its 2lnl' autoionisation resonances
    as Fano profiles, cm^2."""
    threshold = 24.58
    e = np.maximum(energy, threshold)
    x = np.sqrt(threshold / e)
    sigma = np.polynomial.polynomial.polyval(x, _HE_POLYNOMIAL) * 733e-6 * (e / 1e3) ** -3.5
    rydberg = e / 13.598
    for q, nu, width in _HE_RESONANCES:
        reduced = 2.0 * (rydberg - (3.0 - 1.0 / nu**2 + 1.807317)) / width
        sigma = sigma * (reduced - q) ** 2 / (1.0 + reduced**2)
    return np.where(energy >= threshold, sigma * _MBARN, 0.0)


def molecular_hydrogen_cross_section(energy: np.ndarray) -> np.ndarray:
    """H2 per molecule after Yan et al. (1998), with Wilms et al.'s fit between 30 and
    85 eV, cm^2."""
    e = np.maximum(energy, 15.4)
    x = e / 15.4
    poly = np.polynomial.polynomial.polyval
    sigma_barn = np.select(
        [e < 18.0, e < 30.0, e < 85.0],
        [
            1e8 * poly(x, (-37.895, 99.723, -87.227, 25.4)),
            2e7 * x**-0.252 * poly(1.0 / x, (0.071, -0.673, 1.977, -0.692)),
            1e6 * poly(1.0 / x, (0.664, -11.768, 78.118, -231.339, 368.053, -189.953)),
        ],
        45.57 * (e / 1e3) ** -3.5 * poly(1.0 / np.sqrt(x), (1.0, -2.003, -4.806, 50.577, -171.044, 231.608, -81.885)),
    )
    return np.where(energy > 15.4, sigma_barn * 1e-6 * _MBARN, 0.0)


def _element_cross_section(z: int, energy: np.ndarray) -> np.ndarray:
    if z == 1:
        return hydrogen_cross_section(energy)
    if z == 2:
        return helium_cross_section(energy)
    return atomic_cross_section(z, energy)


def ism_cross_section(energy: np.ndarray, table: str = "wilm") -> np.ndarray:
    """Cross-section of the interstellar medium per H nucleus (gas, H2 and grains) in
    the formalism of Wilms, Allen & McCray (2000) with their default ISM, cm^2.

    ``energy`` in eV; ``table`` names the abundances (``wilm`` for the paper's ISM).
    """
    energy = np.asarray(energy, dtype=float)
    abundance = abundances(table)[np.asarray(TBABS_ELEMENTS) - 1]
    gas_fraction = np.asarray(TBABS_GAS_FRACTION)
    in_grains = abundance * (1.0 - gas_fraction)
    in_gas = abundance * gas_fraction
    in_gas[0] *= 1.0 - H2_FRACTION
    sigma_gas = np.zeros_like(energy)
    sigma_grain_atoms = np.zeros_like(energy)
    for z, gas, dust in zip(TBABS_ELEMENTS, in_gas, in_grains):
        sigma = _element_cross_section(z, energy)
        sigma_gas += gas * sigma
        sigma_grain_atoms += dust * sigma
    sigma_molecules = 0.5 * H2_FRACTION * abundance[0] * molecular_hydrogen_cross_section(energy)
    return sigma_gas + sigma_molecules + _grain_cross_section(sigma_grain_atoms, in_grains)


def _grain_cross_section(sigma_atoms: np.ndarray, in_grains: np.ndarray) -> np.ndarray:
    """Absorption by grains per H nucleus, with self-shielding (Wilms et al. 2000, App.).

    A grain of radius a has optical depth s a through it (s = 4/3 rho sigma / m);
    its cross-section is pi a^2 (1 - exp(-s a)), integrated over dn/da ~ a^-p.
    """
    atoms = in_grains.sum()
    mass = float(np.dot(in_grains, TBABS_MASS)) * _AMU  # grain mass per H nucleus, g
    mean_cross_section = sigma_atoms / atoms
    mean_atom_mass = mass / atoms
    a_min, a_max = GRAIN_SIZES
    p = GRAIN_SIZE_INDEX
    norm = (1.0 - p) / (a_max ** (1.0 - p) - a_min ** (1.0 - p))  # of the size distribution
    n_grains = mass / (GRAIN_DENSITY * 4.0 / 3.0 * np.pi * norm) * (4.0 - p) / (a_max ** (4.0 - p) - a_min ** (4.0 - p))
    s = 4.0 / 3.0 * GRAIN_DENSITY * mean_cross_section / mean_atom_mass
    s_safe = np.where(s > 0.0, s, 1.0)

    def lower_gamma(x: np.ndarray) -> np.ndarray:
        return gamma_function(4.0 - p) * gammainc(4.0 - p, x)

    shielded = (
        a_min ** (3.0 - p) * -np.expm1(-s * a_min)
        - a_max ** (3.0 - p) * -np.expm1(-s * a_max)
        + s_safe ** (p - 3.0) * (lower_gamma(s * a_max) - lower_gamma(s * a_min))
    )
    return np.where(s > 0.0, n_grains * np.pi * norm / (p - 3.0) * shielded, 0.0)


def photoelectric_cross_section(energy: np.ndarray, table: str = "angr") -> np.ndarray:
    """Cross-section per H atom of neutral gas of the given abundances, all elements
    H..Zn in atomic form (XSPEC's phabs with ``xsect vern``), cm^2; ``energy`` in eV."""
    energy = np.asarray(energy, dtype=float)
    abundance = abundances(table)
    total = np.zeros_like(energy)
    for z in range(1, 31):
        if abundance[z - 1] > 0.0:
            total += abundance[z - 1] * atomic_cross_section(z, energy)
    return total
