"""``PhotometryLike``: catalogue photometry through filter curves, compared with the
AB fluxes of the assigned sources' photon spectrum (3ML's ``PhotometryLike``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jointfit import statistics as stats
from jointfit.errors import DataError, PluginError
from jointfit.filters import BandIntegrals, Filter, get_filters
from jointfit.plugin import Plugin
from jointfit.space import ParameterSpace

from .observation import FLUX, MAGNITUDE, Measurement, PhotometricObservation

__all__ = ["PhotometryLike"]


class _Band:
    """One band's switch, as 3ML's ``plugin.band_r.on = False``."""

    def __init__(self, owner: PhotometryLike, band: str) -> None:
        self._owner, self._band = owner, band

    @property
    def on(self) -> bool:
        """Whether the band enters the likelihood (read at setup)."""
        return self._band in self._owner._active

    @on.setter
    def on(self, value: bool) -> None:
        if value:
            self._owner._active.add(self._band)
        else:
            self._owner._active.discard(self._band)

    @property
    def off(self) -> bool:
        return not self.on

    @off.setter
    def off(self, value: bool) -> None:
        self.on = not value

    def __repr__(self) -> str:
        return f"band {self._band!r}: {'on' if self.on else 'off'}"


class PhotometryLike(Plugin):
    """Magnitudes or flux densities in filters, fitted by the assigned sources' photon
    spectrum (all point sources if unassigned).

    The model of each band is the AB flux of the summed spectrum through the filter
    (:mod:`jointfit.filters`: one fixed dot product per band, computed once at setup).
    Magnitudes are compared with a Gaussian in magnitude (3ML's likelihood, fully
    normalised here), fluxes with a Gaussian in flux, limits as censored Gaussians
    (:mod:`jointfit.statistics`).

    Parameters
    ----------
    name : str
        Name of the data set.
    filters : sequence
        One filter per measured band: speclite names (``"sdss2010-r"``, wildcards
        ``"sdss2010-*"``), speclite ``FilterResponse``/``FilterSequence`` objects or
        :class:`~jointfit.filters.Filter` objects. A band of the observation matches a
        filter by its band name (``"r"``) or its full name (``"sdss2010-r"``).
    observation : PhotometricObservation or mapping
        The measurements by band (see :class:`PhotometricObservation`).
    magnitude_system : {"AB", "vega"}
        System of plain-number magnitudes when ``observation`` is a mapping.
    ab_minus_vega : mapping, optional
        m_AB − m_Vega per band, for Vega magnitudes.

    Raises
    ------
    DataError, FilterError
        For bad measurements (see :class:`PhotometricObservation`), unknown filters, a
        band without a filter, a filter without a band, or two filters one band name
        would match.
    """

    def __init__(self, name: str, filters: Any, observation: Any, *, magnitude_system: str = "AB",
                 ab_minus_vega: Mapping[str, float] | None = None) -> None:
        super().__init__(name)
        if not isinstance(observation, PhotometricObservation):
            observation = PhotometricObservation(observation, magnitude_system=magnitude_system,
                                                 ab_minus_vega=ab_minus_vega, name=f"PhotometryLike {name!r}")
        self.observation = observation
        loaded = get_filters(filters)
        self.filters: dict[str, Filter] = {}
        unmatched = list(observation.bands)
        for filt in loaded:
            keys = [k for k in unmatched if k in (filt.name, filt.band)]
            if len(keys) > 1:
                raise DataError(f"PhotometryLike {name!r}: filter {filt.name!r} matches bands {keys}")
            if not keys:
                raise DataError(f"PhotometryLike {name!r}: filter {filt.name!r} has no measurement; bands measured: "
                                f"{observation.bands} (name a band by the filter's band {filt.band!r} or its full name)")
            self.filters[keys[0]] = filt
            unmatched.remove(keys[0])
        if unmatched:
            raise DataError(f"PhotometryLike {name!r}: no filter for band(s) {unmatched}; filters given: "
                            f"{[f.name for f in loaded]}")
        self.measurements: dict[str, Measurement] = {
            band: observation.measurement(band, self.filters[band]) for band in observation.bands}
        self._active = set(observation.bands)

    @classmethod
    def from_kwargs(cls, name: str, filters: Any, **measurements: Any) -> PhotometryLike:
        """3ML's spelling: ``PhotometryLike.from_kwargs("grond", filters=..., g=(19.92, 0.1), ...)``."""
        return cls(name, filters, PhotometricObservation(measurements, name=f"PhotometryLike {name!r}"))

    # -- bands -------------------------------------------------------------------------------
    @property
    def bands(self) -> list[str]:
        """Band names, in the observation's order."""
        return list(self.measurements)

    @property
    def active_bands(self) -> list[str]:
        """The bands switched on (those a fit uses)."""
        return [b for b in self.bands if b in self._active]

    def band(self, name: str) -> _Band:
        """The switch of band ``name`` (``plugin.band("r").on = False``)."""
        if name not in self.measurements:
            raise DataError(f"PhotometryLike {self.name!r} has no band {name!r}; its bands are {self.bands}")
        return _Band(self, name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("band_") and "measurements" in self.__dict__:
            return self.band(name[len("band_"):])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"PhotometryLike({self.name!r}; {len(self.bands)} bands, {len(self.active_bands)} on)"

    def summary(self) -> Any:
        """One row per band: filter, pivot wavelength, effective energy, datum, kind,
        whether it is on (a pandas DataFrame)."""
        import pandas as pd

        rows = []
        for band, measurement in self.measurements.items():
            filt = self.filters[band]
            rows.append({"band": band, "filter": filt.name, "pivot (Å)": filt.pivot_wavelength.value,
                         "energy (keV)": filt.effective_energy, "measured": measurement.as_given,
                         "kind": measurement.kind + (" limit" if measurement.limit else ""),
                         "on": band in self._active})
        return pd.DataFrame(rows).set_index("band")

    # -- the contract ------------------------------------------------------------------------
    def _setup(self, space: ParameterSpace) -> None:
        active = self.active_bands
        if not active:
            raise PluginError(f"plugin {self.name!r}: every band is switched off")
        names = self._sources if self._sources is not None else space.point_source_names
        shapes = {n: space.model.sources[n].spectral_shape for n in names}
        for source, shape in shapes.items():
            for band in active:
                self.filters[band].require_covered_by(
                    shape, source, self.name, hint=f"; switch the band off (plugin.band_{band}.on = False) or let "
                                                   "the function extend its range")
        self._integrals = BandIntegrals.of([self.filters[b] for b in active], space.breakpoints(names))
        self._spectrum = self._source_spectrum(space)
        self._nodes = jnp.asarray(self._integrals.nodes_kev)
        self._matrix = jnp.asarray(self._integrals.matrix)
        data = [self.measurements[b] for b in active]
        self._value = jnp.asarray([m.value for m in data])
        self._error = jnp.asarray([m.error for m in data])
        self._is_flux = jnp.asarray([m.kind == FLUX for m in data])
        self._is_limit = jnp.asarray([m.limit for m in data])
        self._all_magnitudes = all(m.kind == MAGNITUDE for m in data)
        self._all_fluxes = all(m.kind == FLUX for m in data)
        self._any_limit = any(m.limit for m in data)
        self._setup_bands = active

    def flux_ratios(self, values: Mapping[str, Any]) -> jnp.ndarray:
        """Model AB flux / 3631 Jy in each active band (pure JAX)."""
        self._require_setup()
        return self._matrix @ self._spectrum(self._nodes, values)

    def model_magnitudes(self, values: Mapping[str, Any]) -> jnp.ndarray:
        """Model AB magnitude in each active band (pure JAX)."""
        return -2.5 * jnp.log10(self.flux_ratios(values))

    def pointwise_loglike(self, values: Mapping[str, Any]) -> jnp.ndarray:
        """Log-likelihood of each active band: Gaussian in magnitude, Gaussian in flux,
        or censored Gaussian for limits (an upper limit in flux is a lower limit in
        magnitude)."""
        ratio = self.flux_ratios(values)
        # which kinds of data there are is known at setup: terms for absent kinds are
        # not computed at all (a single call's cost is the number of operations)
        if self._all_magnitudes:
            model = -2.5 * jnp.log10(jnp.where(ratio > 0, ratio, 1.0))
        elif self._all_fluxes:
            model = ratio
        else:
            magnitude = -2.5 * jnp.log10(jnp.where(ratio > 0, ratio, 1.0))
            model = jnp.where(self._is_flux, ratio, magnitude)
        value = stats.gaussian_loglike(self._value, model, self._error)
        if self._any_limit:
            limit = stats.censored_gaussian_loglike(self._value, model, self._error, upper=self._is_flux)
            value = jnp.where(self._is_limit, limit, value)
        if self._all_fluxes:
            return value
        return jnp.where(self._is_flux | (ratio > 0), value, -jnp.inf)

    def observed_data(self) -> jnp.ndarray:
        """The active bands' measurements (AB magnitudes or flux ratios to 3631 Jy;
        a limit's value for a limit)."""
        self._require_setup()
        return self._value

    def discrepancy(self, values: Mapping[str, Any], data: Any) -> jnp.ndarray:
        """Chi2 of measurements ``data`` (as :meth:`observed_data`) at ``values``; a
        limit adds -2 ln of the probability of a measurement on its side (0 where the
        model lies far on that side)."""
        ratio = self.flux_ratios(values)
        magnitude = -2.5 * jnp.log10(jnp.where(ratio > 0, ratio, 1.0))
        model = jnp.where(self._is_flux, ratio, magnitude)
        value = stats.chi2(data, model, self._error)
        if self._any_limit:
            limit = -2.0 * stats.censored_gaussian_loglike(data, model, self._error, upper=self._is_flux)
            value = jnp.where(self._is_limit, limit, value)
        return jnp.sum(jnp.where(self._is_flux | (ratio > 0), value, jnp.inf))

    def discrepancy_name(self) -> str:
        """``"chi2"``."""
        return "chi2"

    def fit_statistic(self, values: Mapping[str, Any]) -> tuple[str, float]:
        """``("chi2", value)`` (:meth:`discrepancy` of the measurements)."""
        return "chi2", float(self.discrepancy(values, self.observed_data()))

    def data_axis(self) -> tuple[str, np.ndarray]:
        """The active bands' pivot wavelengths (Å)."""
        return "pivot wavelength (Å)", np.array([self.filters[b].pivot_wavelength.value for b in self._setup_bands])

    def simulate(self, values: Mapping[str, Any], key: Any) -> jnp.ndarray:
        """New measurements of the active bands at ``values``: AB magnitudes or flux
        ratios scattered by their errors (limits give the latent measurement)."""
        ratio = self.flux_ratios(values)
        model = jnp.where(self._is_flux, ratio, -2.5 * jnp.log10(ratio))
        return model + self._error * jax.random.normal(key, model.shape)

    # -- pictures ------------------------------------------------------------------------------
    def sed_points(self, draws: Any, **options: Any) -> Any:
        """The active bands as νFν points at their pivot energies (width: where the
        response exceeds half its maximum), from the measurements alone."""
        from .plots import sed_points

        return sed_points(self)

    def plot_model_magnitudes(self, values: Mapping[str, Any], ax: Any = None) -> Any:
        """Measured against model magnitudes at ``values`` (arrays of draws give a band),
        residuals below (3ML's ``display_photometry_model_magnitudes``); a figure."""
        from .plots import plot_model_magnitudes

        return plot_model_magnitudes([self], values)

    @classmethod
    def display_model_counts(cls, plugins: Sequence[Plugin], draws: Any, **options: Any) -> Any:
        """Every photometry plugin of an analysis in one magnitude picture."""
        from .plots import plot_model_magnitudes

        return plot_model_magnitudes(list(plugins), draws, confidence_level=options.get("confidence_level", 0.68))
