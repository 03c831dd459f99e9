"""``OGIPLike``: a PHA spectrum with its background and response as a jointfit plugin."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jointfit.errors import DataError, JointfitWarning, PluginError
from jointfit.parameter import Parameter
from jointfit.plugin import Plugin
from jointfit.priors import Uniform_prior
from jointfit.space import ParameterSpace

from jointfit import statistics as stats
from .binning import (Binning, describe_selection, group_ids_from_flags, group_optimal, parse_selection,
                      reaches_beyond, selection_specs)
from .pha import PHASpectrum, read_pha, read_pha_rows
from .quadrature import MAX_POINTS, TOLERANCE, BinIntegrator
from .response import EffectiveArea, Response, read_arf, read_rmf
from .writing import write_response, write_spectrum

__all__ = ["OGIPLike", "DispersionSpectrumLike", "FROM_HEADER", "STATISTICS"]

STATISTICS = ("cstat", "wstat", "pgstat", "chi2")
CHI2_VARIANCES = ("file", "data", "model", "gehrels")


class _FromHeader:
    """Default of the file arguments: take the file named in the PHA header."""

    def __repr__(self) -> str:
        return "FROM_HEADER"


FROM_HEADER: Any = _FromHeader()


class OGIPLike(Plugin):
    """A spectrum in OGIP format (PHA type I or a row of type II) with its background
    and response, compared with the summed spectrum of the assigned sources.

    Parameters
    ----------
    name : str
        Name of the data set.
    observation : str, path or PHASpectrum
        The PHA file (``file{n}`` selects row n of a type II file).
    background, response, arf : str, path, object or None
        Files (or loaded objects). Left out, each is taken from the BACKFILE, RESPFILE
        or ANCRFILE keyword (relative to the PHA file's folder), or from a background
        stored in the PHA file itself; ``None`` means none, whatever the header says.
    spectrum_number : int, optional
        Row (1-based) of a PHA type II file.
    statistic : {"cstat", "wstat", "pgstat", "chi2"}, optional
        Chosen from the data when left out, as 3ML does: Poisson counts without
        background → cstat; with a Poisson background → wstat; with a Gaussian
        background → pgstat; Gaussian counts → chi2.
    chi2_variance : {"file", "data", "model", "gehrels"}
        Variance of chi2: STAT_ERR (with SYS_ERR) from the files, the observed counts
        (Sherpa's chi2datavar), the model counts (chi2modvar), or Gehrels' (1986)
        approximation of the 84 % Poisson upper limit, sigma = 1 + sqrt(N + 0.75), of the
        counts and of the scaled background's (Sherpa's default, chi2gehrels).
    group : bool
        Sum channels into the file's groups (GROUPING) when it has any.
    quadrature_points : int, optional
        Gauss-Legendre points in every response energy bin; by default each bin gets
        the fewest that integrate power laws of index -4 to 3 over it to 1e-9
        (:mod:`jointfit_ogip.quadrature`): 3 for 5 %-wide bins, 2 for most of a CCD's.

    Raises
    ------
    DataError
        For unreadable or inconsistent files (see ``read_pha``, ``read_rmf``), channel
        counts that differ between PHA and response, or a statistic the data cannot
        support.
    """

    def __init__(self, name: str, observation: Any, background: Any = FROM_HEADER,
                 response: Any = FROM_HEADER, arf: Any = FROM_HEADER, spectrum_number: int | None = None,
                 statistic: str | None = None, chi2_variance: str = "file", group: bool = True,
                 quadrature_points: int | None = None) -> None:
        super().__init__(name)
        self._files = _files_given(observation=observation, background=background, response=response, arf=arf,
                                   spectrum_number=spectrum_number, quadrature_points=quadrature_points)
        self.observation = (observation if isinstance(observation, PHASpectrum)
                            else read_pha(observation, spectrum_number))
        self.background = self._resolve_background(background)
        self.response = self._resolve_response(response, arf)
        if self.response.n_channels != self.observation.n_channels:
            raise DataError(f"{self.observation.origin} has {self.observation.n_channels} channels but the "
                            f"response {self.response.origin} has {self.response.n_channels}")
        if self.background is not None and self.background.n_channels != self.observation.n_channels:
            raise DataError(f"the background {self.background.origin} has {self.background.n_channels} channels, "
                            f"the spectrum {self.observation.n_channels}")
        if chi2_variance not in CHI2_VARIANCES:
            raise PluginError(f"chi2_variance must be one of {CHI2_VARIANCES}, got {chi2_variance!r}")
        self.chi2_variance = chi2_variance
        self.statistic = self._check_statistic(statistic or self._default_statistic())
        if quadrature_points is not None and quadrature_points < 1:
            raise PluginError(f"quadrature_points must be at least 1, got {quadrature_points}")
        self.quadrature_points = None if quadrature_points is None else int(quadrature_points)
        self._group = bool(group) and np.any(self.observation.grouping == -1)
        self.sparse_threshold = 0.25  # fold with the non-zero elements only below this density
        self._selected = np.ones(self.observation.n_channels, dtype=bool)
        self._add_nuisance_parameter(Parameter(
            "effective_area_correction", 1.0, bounds=(0.0, None), free=False,
            description="multiplies the response (3ML's use_effective_area_correction)"))

    # -- files ------------------------------------------------------------------------------
    def _resolve_background(self, background: Any) -> PHASpectrum | None:
        observation = self.observation
        if background is None:
            return None
        if isinstance(background, PHASpectrum):
            return background
        if background is FROM_HEADER:
            if observation.backfile is not None:
                return read_pha(observation.backfile, observation.row + 1 if observation.row is not None else None,
                                is_background=True, keyword="BACKFILE", relative_to=observation.folder)
            return observation.background
        return read_pha(background, is_background=True)

    def _resolve_response(self, response: Any, arf: Any) -> Response:
        observation = self.observation
        if response is None:
            raise DataError(f"{observation.origin}: a response is required (pass response=<RMF or RSP>)")
        if isinstance(response, Response):
            matrix = response
        elif response is FROM_HEADER:
            if observation.respfile is None:
                raise DataError(f"{observation.origin} names no response (RESPFILE is none): pass response=<path>")
            matrix = read_rmf(observation.respfile, keyword="RESPFILE", relative_to=observation.folder)
        else:
            matrix = read_rmf(response)
        if arf is FROM_HEADER:
            arf = (None if observation.ancrfile is None
                   else read_arf(observation.ancrfile, keyword="ANCRFILE", relative_to=observation.folder))
        elif arf is not None and not isinstance(arf, EffectiveArea):
            arf = read_arf(arf)
        return matrix if arf is None else matrix.with_arf(arf)

    # -- rebuilding from results ----------------------------------------------------------------
    def recipe(self) -> dict[str, Any] | None:
        """The files this spectrum was read from (absolute paths, or "what the header
        names"), its statistic, grouping, selection, assigned sources and the state
        of its effective-area correction; ``None`` for a spectrum built from arrays
        in memory (a simulation), which no file can give back."""
        if self._files is None:
            return None
        correction = self._nuisance["effective_area_correction"]
        return {"plugin": type(self).__name__, "name": self.name, "files": self._files,
                "statistic": self.statistic, "chi2_variance": self.chi2_variance,
                "grouping": self.observation.grouping.tolist() if self._group else None,
                "selected": np.flatnonzero(self._selected).tolist(),
                "sources": None if self.assigned_sources is None else list(self.assigned_sources),
                "effective_area_correction": {"free": correction.free, "value": correction.value,
                                              "bounds": list(correction.bounds)}}

    @classmethod
    def from_recipe(cls, recipe: Mapping[str, Any]) -> OGIPLike:
        """The spectrum :meth:`recipe` describes, read again from its files."""
        files = {role: (FROM_HEADER if value == _HEADER else value) for role, value in recipe["files"].items()}
        plugin = cls(recipe["name"], files.pop("observation"), statistic=recipe["statistic"],
                     chi2_variance=recipe["chi2_variance"], **files)
        plugin.group(None if recipe["grouping"] is None else np.asarray(recipe["grouping"]))
        selected = np.zeros(plugin.observation.n_channels, dtype=bool)
        selected[np.asarray(recipe["selected"], dtype=int)] = True
        plugin._selected = selected
        if recipe.get("sources") is not None:
            plugin.assign_to_source(*recipe["sources"])
        state = recipe["effective_area_correction"]
        correction = plugin._nuisance["effective_area_correction"]
        correction.bounds = tuple(state["bounds"])
        correction.value, correction.free = state["value"], state["free"]
        return plugin

    # -- statistic ---------------------------------------------------------------------------
    def _default_statistic(self) -> str:
        if not self.observation.poisson:
            return "chi2"
        if self.background is None:
            return "cstat"
        return "wstat" if self.background.poisson else "pgstat"

    def _check_statistic(self, statistic: str) -> str:
        origin = self.observation.origin
        if statistic not in STATISTICS:
            raise PluginError(f"{self.name}: statistic must be one of {STATISTICS}, got {statistic!r}")
        if statistic in ("cstat", "wstat", "pgstat") and not self.observation.poisson:
            # Poisson statistics need whole counts, even if the file claims Gaussian errors
            if not np.all(self.observation.counts == np.round(self.observation.counts)) or np.any(
                    self.observation.counts < 0):
                raise DataError(f"{origin}: {statistic} needs whole non-negative counts")
        if statistic == "cstat" and self.background is not None:
            raise DataError(f"{origin}: cstat does not use a background; pass background=None to ignore "
                            f"{self.background.origin}, or use wstat/pgstat")
        if statistic in ("wstat", "pgstat") and self.background is None:
            raise DataError(f"{origin}: {statistic} needs a background; there is none")
        if statistic == "wstat" and not np.all(self.background.counts == np.round(self.background.counts)):
            raise DataError(f"{self.background.origin}: wstat needs whole background counts")
        if statistic == "pgstat" and self.background.stat_err is None:
            raise DataError(f"{self.background.origin}: pgstat needs background errors (STAT_ERR)")
        if statistic == "chi2" and self.chi2_variance == "file" and self.observation.stat_err is None:
            raise DataError(f"{origin}: chi2 with variance from the file needs STAT_ERR (the file is Poisson); "
                            "use chi2_variance='data', 'model' or 'gehrels', or a Poisson statistic")
        return statistic

    def __str__(self) -> str:
        """What the plugin holds and how it is read, one line each (3ML's plugin
        summary, Sherpa's ``show_data``)."""
        observation, background, binning = self.observation, self.background, self.binning
        counts = observation.counts[binning.channel_index].sum()
        lines = [f"{type(self).__name__} {self.name!r}",
                 f"  spectrum    {observation.origin}: {observation.counts.sum():.6g} counts in "
                 f"{observation.n_channels} channels, exposure {observation.exposure:.6g} s",
                 "  background  none" if background is None else
                 f"  background  {background.origin}: {background.counts.sum():.6g} counts, exposure "
                 f"{background.exposure:.6g} s",
                 f"  response    {self.response.origin}",
                 f"  statistic   {self.statistic}" + (f" (variance: {self.chi2_variance})"
                                                      if self.statistic == "chi2" else ""),
                 f"  selection   {int(self._selected.sum())} of {self._selected.size} channels, "
                 f"{describe_selection(self._selected, self.response.channel_lo, self.response.channel_hi)}"
                 f"; {counts:.6g} counts in {binning.n_bins} {'groups' if self._group else 'bins'}",
                 f"  sources     {'all point sources' if self._sources is None else ', '.join(self._sources)}"]
        return "\n".join(lines)

    def set_statistic(self, statistic: str, chi2_variance: str | None = None) -> None:
        """Choose the statistic (and the chi2 variance) by name."""
        if chi2_variance is not None:
            if chi2_variance not in CHI2_VARIANCES:
                raise PluginError(f"chi2_variance must be one of {CHI2_VARIANCES}, got {chi2_variance!r}")
            self.chi2_variance = chi2_variance
        self.statistic = self._check_statistic(statistic)

    # -- channels ------------------------------------------------------------------------------
    def set_active_measurements(self, *selections: Any, exclude: Any = (), quiet: bool = False) -> str:
        """Select channels and say what was kept (as Sherpa's ``notice``).

        Parameters
        ----------
        *selections
            Energy ranges ``"0.5-7"`` (keV), channel ranges ``"c10-c100"``, ``"all"``;
            or one energy range as two numbers (keV) or astropy quantities of energy,
            frequency or wavelength (``0.5 * u.keV, 7 * u.keV``), or ``(low, high)``
            pairs. A channel that overlaps a range counts as inside.
        exclude
            Ranges removed, written the same way.
        quiet : bool
            Do not print the summary.

        Returns
        -------
        str
            The summary: how many channels were kept, their energies, and any range
            that reached beyond the channels (and was cut to them).

        Raises
        ------
        DataError
            For a selection that cannot be read or that keeps no channel.
        """
        response, origin = self.response, self.observation.origin
        args = (response.channel_lo, response.channel_hi, self.observation.channels, origin)
        specs = selection_specs(selections, origin)
        if not specs or specs == ["all"]:
            selected = np.ones(self.observation.n_channels, dtype=bool)
        else:
            selected = parse_selection(specs, *args)
        removed = selection_specs([exclude] if isinstance(exclude, str) else exclude, origin)
        if removed:
            selected &= ~parse_selection(removed, *args)
        low, high = float(response.channel_lo.min()), float(response.channel_hi.max())
        if not selected.any():
            raise DataError(f"{self.name}: the selection {specs}{f' less {removed}' if removed else ''} keeps no "
                            f"channel; the channels cover {low:.4g}-{high:.4g} keV ({origin})")
        self._selected = selected
        summary = (f"{self.name}: {int(selected.sum())} of {selected.size} channels kept, "
                   f"{describe_selection(selected, response.channel_lo, response.channel_hi)}")
        beyond = [spec for spec in specs if reaches_beyond(spec, low, high)]
        if beyond:
            verb = "reaches" if len(beyond) == 1 else "reach"
            summary += f" ({', '.join(beyond)} {verb} beyond the channels, {low:.4g}-{high:.4g} keV: cut to them)"
        if not quiet:
            print(summary)
        return summary

    def group(self, flags: np.ndarray | None) -> None:
        """Group with OGIP GROUPING ``flags`` (e.g. from ``group_min_counts``), or ungroup (None)."""
        if flags is None:
            self._group = False
            return
        flags = np.asarray(flags, dtype=int)
        if flags.shape != self.observation.grouping.shape:
            raise DataError(f"grouping flags need {self.observation.n_channels} values, got {flags.size}")
        self.observation = replace(self.observation, grouping=flags)
        self._group = True

    def group_optimal(self, min_counts: float | None = None) -> np.ndarray:
        """Group the channels optimally for the instrument resolution and the counts
        (Kaastra & Bleeker 2016; ftgrouppha's ``opt``, or ``optmin`` with
        ``min_counts``), apply the grouping and return its OGIP GROUPING flags."""
        flags = group_optimal(self.observation.counts, self.response.resolution_fwhm(), min_counts)
        self.group(flags)
        return flags

    @property
    def binning(self) -> Binning:
        """The channels (good quality, selected) and the bins they are summed into.

        A group enters when any of its channels is selected (overlap), and sums its
        good-quality channels."""
        observation = self.observation
        good = observation.quality == 0
        if self.background is not None:
            good &= self.background.quality == 0
        if self._group:
            group_id = group_ids_from_flags(observation.grouping)
        else:
            group_id = np.arange(observation.n_channels)
        selected_groups = np.unique(group_id[self._selected])
        enters = np.isin(group_id, selected_groups) & good
        channel_index = np.flatnonzero(enters)
        _, group_of = np.unique(group_id[channel_index], return_inverse=True)
        return Binning(channel_index, group_of.astype(int), int(group_of.max() + 1 if group_of.size else 0))

    def background_scale(self, binning: Binning) -> np.ndarray:
        """Per bin, the factor turning background counts into counts in the source
        region: (exposure x BACKSCAL x AREASCAL) of the source over the background's.
        Channels of a group share one background region, so the factor is their mean."""
        observation, background = self.observation, self.background
        if background is None:
            raise PluginError(f"{self.name} has no background")
        alpha = ((observation.exposure * observation.backscal * observation.areascal)
                 / (background.exposure * background.backscal * background.areascal))
        with np.errstate(divide="ignore", invalid="ignore"):
            return binning.sum(alpha) / np.bincount(binning.group_of, minlength=binning.n_bins)

    @property
    def n_bins(self) -> int:
        """Number of bins entering the likelihood."""
        return self.binning.n_bins

    # -- set-up and likelihood ------------------------------------------------------------------
    def _setup(self, space: ParameterSpace) -> None:
        binning = self.binning
        if binning.n_bins == 0:
            raise DataError(f"{self.observation.origin}: no channel is selected")
        observation, background, response = self.observation, self.background, self.response
        self._integrate = BinIntegrator(response.energy_lo, response.energy_hi, self.quadrature_points)
        if np.any(self._integrate.too_wide):
            first = np.flatnonzero(self._integrate.too_wide)[0]
            warnings.warn(f"{response.origin}: {int(np.sum(self._integrate.too_wide))} response energy bins (the first "
                          f"{response.energy_lo[first]:g}-{response.energy_hi[first]:g} keV) are too wide for "
                          f"{MAX_POINTS}-point Gauss-Legendre to integrate steep spectra to {TOLERANCE:g}; pass "
                          "quadrature_points=n to choose the rule yourself", JointfitWarning, stacklevel=3)
        columns = binning.channel_index
        self._spectrum = self._source_spectrum(space)
        self._nodes = jnp.asarray(self._integrate.nodes)
        # photons/(cm2 s) per energy bin -> counts per bin: the channels that enter,
        # scaled by exposure and AREASCAL, summed into their groups once, here
        scale = observation.exposure * observation.areascal[columns]
        grouped = np.zeros((response.n_energies, binning.n_bins))
        np.add.at(grouped.T, binning.group_of, (response.matrix[:, columns] * scale[None, :]).T)
        self._fold = _Fold(grouped, self.sparse_threshold)
        counts = binning.sum(observation.counts)
        self._counts = jnp.asarray(counts)
        self._log_factorials = stats.log_factorial_remainder(counts)
        self._correction_path = f"{self.name}.effective_area_correction"
        if background is not None:
            alpha = self.background_scale(binning)
            bad = ~np.isfinite(alpha) | (alpha <= 0)
            if np.any(bad):
                raise DataError(f"{background.origin}: background scaling (exposure x BACKSCAL x AREASCAL) is "
                                f"zero or invalid in bin {np.flatnonzero(bad)[0]}")
            self._alpha = jnp.asarray(alpha)
            background_counts = binning.sum(background.counts)
            self._background_counts = jnp.asarray(background_counts)
            if self.statistic == "wstat":
                self._log_factorials = self._log_factorials + stats.log_factorial_remainder(background_counts)
            if background.stat_err is not None:
                self._background_error = jnp.asarray(np.sqrt(binning.sum(background.stat_err**2)))
        self._setup_variance(binning)

    def _setup_variance(self, binning: Binning) -> None:
        if self.statistic != "chi2":
            return
        observation, background = self.observation, self.background
        if self.chi2_variance == "file":
            variance = binning.sum(observation.stat_err**2 + (observation.sys_err * observation.counts) ** 2)
            if background is not None and background.stat_err is not None:
                variance = variance + np.asarray(self._alpha) ** 2 * binning.sum(background.stat_err**2)
            elif background is not None:
                variance = variance + np.asarray(self._alpha) ** 2 * binning.sum(background.counts)
        elif self.chi2_variance == "data":
            variance = binning.sum(observation.counts)
            if background is not None:
                variance = variance + np.asarray(self._alpha) ** 2 * binning.sum(background.counts)
        elif self.chi2_variance == "gehrels":
            variance = (1.0 + np.sqrt(binning.sum(observation.counts) + 0.75)) ** 2
            if background is not None:
                variance = variance + np.asarray(self._alpha) ** 2 * (
                    1.0 + np.sqrt(binning.sum(background.counts) + 0.75)) ** 2
        else:
            variance = None
        if variance is not None:
            bad = np.flatnonzero(~(variance > 0))
            if bad.size:
                raise DataError(f"{observation.origin}: chi2 needs a positive variance in every bin; bin {bad[0]} "
                                f"(channel {observation.channels[binning.channel_index[binning.group_of == bad[0]][0]]}) "
                                f"has {variance[bad[0]]!r}; group the spectrum or use a Poisson statistic")
            self._variance = jnp.asarray(variance)

    def expected_counts(self, values: Mapping[str, Any]) -> jnp.ndarray:
        """Model counts in each bin (pure JAX)."""
        self._require_setup()
        flux = self._spectrum(self._nodes, values)                 # photons/(cm2 s keV) at nodes
        per_energy_bin = self._integrate(flux)                      # photons/(cm2 s)
        return self._fold(per_energy_bin) * values[self._correction_path]  # counts per bin

    def pointwise_loglike(self, values: Mapping[str, Any]) -> jnp.ndarray:
        """Normalised log-likelihood of each bin under the chosen statistic."""
        model = self.expected_counts(values)
        if self.statistic == "cstat":
            return stats.poisson_loglike(self._counts, model, self._log_factorials)
        if self.statistic == "wstat":
            return stats.poisson_profile_background_loglike(self._counts, self._background_counts, model,
                                                            self._alpha, self._log_factorials)
        if self.statistic == "pgstat":
            return stats.poisson_gaussian_background_loglike(self._counts, self._background_counts,
                                                             self._background_error, model, self._alpha,
                                                             self._log_factorials)
        data, sigma = self._chi2_data_and_sigma(model)
        return stats.gaussian_loglike(data, model, sigma)

    def _chi2_data_and_sigma(self, model: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        """Background-subtracted counts and their standard deviation, per bin."""
        if self.background is None:
            data, background_variance = self._counts, 0.0
        else:
            data = self._counts - self._alpha * self._background_counts
            background_variance = self._alpha**2 * self._background_counts
        variance = model + background_variance if self.chi2_variance == "model" else self._variance
        return data, jnp.sqrt(variance)

    def statistic_value(self, values: Mapping[str, Any]) -> jnp.ndarray:
        """The conventional statistic (C-stat, W-stat, PG-stat as -2 ln L ratio, or chi2)
        at ``values``; this plugin's own parameters (an effective-area correction) take
        their current values where ``values`` leaves them out."""
        values = {**{path: parameter.value for path, parameter in self.nuisance_parameters.items()}, **values}
        model = self.expected_counts(values)
        if self.statistic == "cstat":
            return jnp.sum(stats.cstat(self._counts, model))
        if self.statistic == "wstat":
            return jnp.sum(stats.wstat(self._counts, self._background_counts, model, self._alpha))
        if self.statistic == "pgstat":
            return -2.0 * jnp.sum(self.pointwise_loglike(values))
        data, sigma = self._chi2_data_and_sigma(model)
        return jnp.sum(stats.chi2(data, model, sigma))

    def expected_background(self, values: Mapping[str, Any]) -> jnp.ndarray:
        """Background counts expected in each bin of the source spectrum at ``values``
        (pure JAX): for W-stat and PG-stat, the background the statistic profiles
        given the observed counts; for chi2 or C-stat with a background, its scaled
        counts; zero without one."""
        if self.background is None:
            return jnp.zeros_like(self._counts)
        model = self.expected_counts(values)
        if self.statistic == "wstat":
            return stats.wstat_profile_background(self._counts, self._background_counts, model, self._alpha)
        if self.statistic == "pgstat":
            return stats.pgstat_profile_background(self._counts, self._background_counts, self._background_error,
                                                   model, self._alpha)
        return self._alpha * self._background_counts

    def observed_data(self) -> jnp.ndarray:
        """The counts per bin as :meth:`simulate` draws them: total counts for the
        Poisson statistics, background-subtracted counts for chi2."""
        self._require_setup()
        if self.statistic == "chi2":
            return self._chi2_data_and_sigma(jnp.zeros_like(self._counts))[0]
        return self._counts

    def discrepancy(self, values: Mapping[str, Any], data: Any) -> jnp.ndarray:
        """How far counts ``data`` per bin (as :meth:`observed_data`) lie from the model
        at ``values`` (pure JAX): the C-stat of the total counts against source plus
        expected background (:meth:`expected_background`, held at what the observed
        counts give: only the source spectrum is simulated) for the Poisson
        statistics, chi2 for chi2."""
        model = self.expected_counts(values)
        if self.statistic == "chi2":
            _, sigma = self._chi2_data_and_sigma(model)
            return jnp.sum(stats.chi2(data, model, sigma))
        return jnp.sum(stats.cstat(data, model + self.expected_background(values)))

    def discrepancy_name(self) -> str:
        """``"cstat"`` or ``"chi2"``, saying so where a background is profiled."""
        if self.statistic == "chi2":
            return "chi2"
        return "cstat" if self.background is None else "cstat (source + background)"

    def data_axis(self) -> tuple[str, np.ndarray]:
        """The centre of each bin's energy range (keV)."""
        from .plots import bin_edges

        low, high = bin_edges(self)
        return "energy (keV)", 0.5 * (low + high)

    def fit_statistic(self, values: Mapping[str, Any]) -> tuple[str, float]:
        """The statistic's name and value at ``values`` (:meth:`statistic_value`)."""
        return self.statistic, float(self.statistic_value(values))

    def simulate(self, values: Mapping[str, Any], key: Any) -> jnp.ndarray:
        """Counts per bin drawn at ``values``: Poisson counts of the source plus the
        expected background (:meth:`expected_background`) for the Poisson statistics;
        Gaussian scatter for chi2."""
        model = self.expected_counts(values)
        if self.statistic == "chi2":
            _, sigma = self._chi2_data_and_sigma(model)
            return model + sigma * jax.random.normal(key, model.shape)
        return jax.random.poisson(key, jnp.clip(model + self.expected_background(values), 0.0, None)).astype(float)

    @classmethod
    def from_rows(cls, name: str, path: str | os.PathLike[str], response: Any = FROM_HEADER,
                  arf: Any = FROM_HEADER, background: Any = FROM_HEADER, **kwargs: Any) -> list[OGIPLike]:
        """One plugin per spectrum of a PHA file (every row of a type II file), named
        ``<name>_<row>``. ``response``, ``arf`` and ``background`` may be one value for
        all rows or a list with one per row.

        Raises
        ------
        DataError
            If a list does not have one entry per row.
        """
        spectra = read_pha_rows(path)

        def per_row(value: Any, what: str) -> list[Any]:
            if isinstance(value, list | tuple):
                if len(value) != len(spectra):
                    raise DataError(f"{path} holds {len(spectra)} spectra but {len(value)} {what} were given")
                return list(value)
            return [value] * len(spectra)

        return [cls(f"{name}_{i}", spectrum, response=r, arf=a, background=b, **kwargs)
                for i, (spectrum, r, a, b) in enumerate(zip(spectra, per_row(response, "responses"),
                                                             per_row(arf, "ARFs"),
                                                             per_row(background, "backgrounds")), start=1)]

    # -- simulation and files ----------------------------------------------------------------------
    @staticmethod
    def demo_response_file() -> Path:
        """The GBM-like demo response of 3ML's point-source-fluxes tutorial, shipped with
        this plugin (threeML 2.6.1 package data, BSD-3-Clause)."""
        return Path(__file__).with_name("data") / "ogip_powerlaw.rsp"

    @classmethod
    def from_function(cls, name: str, source_function: Any, response: Any, background_function: Any = None,
                      exposure: float = 1.0, seed: int = 0, quadrature_points: int | None = None,
                      **kwargs: Any) -> OGIPLike:
        """Simulate a spectrum through ``response``, as 3ML's ``from_function`` does.

        Source counts are Poisson draws of the folded ``source_function`` plus the
        background. As in 3ML, ``background_function`` is a count-rate density in
        channel energy, counts/(s keV), integrated over each channel's EBOUNDS (it is
        not folded through the response); the background spectrum, of the same
        exposure and area, is a Poisson draw of it. The same ``seed`` gives the same
        spectrum.

        Parameters
        ----------
        source_function : SpectralFunction
            Photon spectrum, photons/(cm2 s keV).
        background_function : SpectralFunction, optional
            Background count-rate density, counts/(s keV) in channel energy.
        response : str, path or Response
            RSP (or RMF) the counts are simulated through.
        exposure : float
            Exposure, s.
        quadrature_points : int, optional
            The plugin's (see the class); the simulated expectation itself is
            integrated with 5 points per bin unless this is given.
        """
        matrix = response if isinstance(response, Response) else read_rmf(response)
        rng = np.random.default_rng(seed)

        def integrated(function: Any, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
            integrate = BinIntegrator(lo, hi, quadrature_points or 5)
            return np.asarray(integrate(np.asarray(function(integrate.nodes)))) * exposure

        n = matrix.n_channels
        template = dict(channels=matrix.channels, stat_err=None, sys_err=np.zeros(n),
                        quality=np.zeros(n, int), grouping=np.zeros(n, int), exposure=float(exposure),
                        backscal=np.ones(n), areascal=np.ones(n), poisson=True, backfile=None,
                        respfile=None, ancrfile=None, folder=Path.cwd())
        source = integrated(source_function, matrix.energy_lo, matrix.energy_hi) @ matrix.matrix
        background = None
        if background_function is not None:
            background_rate = integrated(background_function, matrix.channel_lo, matrix.channel_hi)
            source = source + background_rate
            background = PHASpectrum(origin=f"{name} (simulated background)",
                                     counts=rng.poisson(background_rate).astype(float), **template)
        observation = PHASpectrum(origin=f"{name} (simulated)", counts=rng.poisson(source).astype(float),
                                  **template)
        return cls(name, observation, background=background, response=matrix, arf=None,
                   quadrature_points=quadrature_points, **kwargs)

    def write_pha(self, stem: str | os.PathLike[str], overwrite: bool = False) -> dict[str, Path]:
        """Write ``<stem>.pha``, ``<stem>_bak.pha`` (if any background) and ``<stem>.rsp``
        (the response with its effective area), linked by BACKFILE and RESPFILE.

        Returns
        -------
        dict
            Paths written, by role (``observation``, ``background``, ``response``).
        """
        stem = Path(stem)
        paths = {"observation": stem.with_name(stem.name + ".pha"), "response": stem.with_name(stem.name + ".rsp")}
        if self.background is not None:
            paths["background"] = stem.with_name(stem.name + "_bak.pha")
        for path in paths.values():
            if path.exists() and not overwrite:
                raise DataError(f"{path} exists; pass overwrite=True to replace it")
        write_response(paths["response"], self.response, overwrite=overwrite)
        if self.background is not None:
            write_spectrum(paths["background"], self.background, is_background=True, overwrite=overwrite)
        write_spectrum(paths["observation"], self.observation, overwrite=overwrite,
                       backfile=paths["background"].name if self.background is not None else None,
                       respfile=paths["response"].name)
        return paths

    # -- pictures ---------------------------------------------------------------------------------
    def view_count_spectrum(self, ax: Any = None) -> Any:
        """Counts per keV per second of the data and the scaled background (a figure)."""
        from .plots import view_count_spectrum

        return view_count_spectrum(self, ax=ax)

    def view_unfolded_spectrum(self, ax: Any = None, min_significance: float = 3.0) -> Any:
        """νFν of the data before any fit, unfolded with a flat spectrum (a figure;
        :func:`~jointfit_ogip.plots.unfolded_points`)."""
        from .plots import view_unfolded_spectrum

        return view_unfolded_spectrum(self, ax=ax, min_significance=min_significance)

    def plot_model_counts(self, values: Any, min_significance: float = 3.0, min_rate: float | None = None) -> Any:
        """Net counts against the model at ``values`` (by path; arrays of draws give a
        band), residuals below."""
        from .plots import plot_model_counts

        return plot_model_counts([self], values, min_significance=min_significance, min_rate=min_rate)

    def sed_points(self, draws: Any, min_significance: float = 3.0, **options: Any) -> Any:
        """The spectrum unfolded with the model at ``draws`` for the broad-band picture:
        in each display bin (merged to ``min_significance``), net counts over the median
        model counts times the median model's νFν at the bin's centre."""
        from .plots import sed_points

        return sed_points(self, draws, min_significance)

    @classmethod
    def display_model_counts(cls, plugins: Any, draws: Any, **options: Any) -> Any:
        """All OGIP plugins of an analysis in one count-spectrum picture."""
        from .plots import plot_model_counts

        return plot_model_counts(plugins, draws, **options)

    # -- nuisance parameters --------------------------------------------------------------------
    def use_effective_area_correction(self, min_value: float = 0.8, max_value: float = 1.2) -> None:
        """Free a multiplicative effective-area constant with a uniform prior on
        [min_value, max_value] (3ML's ``use_effective_area_correction``)."""
        parameter = self._nuisance["effective_area_correction"]
        parameter.bounds = (min_value, max_value)
        parameter.prior = Uniform_prior(lower_bound=min_value, upper_bound=max_value)
        parameter.free = True

    def fix_effective_area_correction(self, value: float = 1.0) -> None:
        """Fix the effective-area constant (1 by default)."""
        parameter = self._nuisance["effective_area_correction"]
        parameter.bounds = (None, None)
        parameter.value = value
        parameter.free = False


_HEADER = "what the spectrum's header names"


def _files_given(**given: Any) -> dict[str, Any] | None:
    """The files an OGIPLike was built from, as a recipe holds them: absolute paths (a
    later change of directory must not lose them), ``_HEADER`` for FROM_HEADER, None;
    ``None`` altogether if any was an object in memory."""
    files: dict[str, Any] = {}
    for role, value in given.items():
        if value is FROM_HEADER:
            files[role] = _HEADER
        elif value is None or isinstance(value, int):
            files[role] = value
        elif isinstance(value, str | os.PathLike):
            files[role] = os.path.abspath(os.fspath(value))
        else:
            return None
    return files


class _Fold:
    """``x @ matrix`` for a fixed matrix: a dense product, or, when few elements are
    non-zero (grating and CCD responses often hold under 10 %), a sum over the
    non-zero elements only (pure JAX, so ``jit``, ``vmap`` and ``grad`` apply)."""

    def __init__(self, matrix: np.ndarray, sparse_threshold: float) -> None:
        self.n_columns = matrix.shape[1]
        rows, columns = np.nonzero(matrix)
        self.sparse = rows.size < sparse_threshold * matrix.size
        if self.sparse:
            self._rows, self._columns = jnp.asarray(rows), jnp.asarray(columns)
            self._values = jnp.asarray(matrix[rows, columns])
        else:
            self._matrix = jnp.asarray(matrix)

    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        if not self.sparse:
            return x @ self._matrix
        return jax.ops.segment_sum(x[self._rows] * self._values, self._columns, num_segments=self.n_columns)


class DispersionSpectrumLike(OGIPLike):
    """3ML's name for a spectrum with a dispersion (response) matrix: an ``OGIPLike``."""
