"""The other cases of AstroPhot's joint-modelling tutorial, simulated, written to FITS
and fitted from the files: two dithered exposures, a supernova over four epochs on a
shared host, and a group of galaxies with windows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointfit import DataList, ExtendedSource, JointLikelihood, Model, PointSource
from jointfit.errors import ModelError
from jointfit.priors import Uniform_prior
from jointfit_imaging import BandMagnitudes, Sersic, SkyWindow, share_structure
from jointfit_imaging.scenes import (GROUP, SUPERNOVA_EPOCHS, SUPERNOVA_HOST, SUPERNOVA_OFFSET, sky_position,
                                     write_dithered_images, write_group_images, write_supernova_epochs)
from jointfit_imaging.tutorial import read_cutout, tutorial_model

MAGNITUDE = "spectrum.main.BandMagnitudes"


def _uniform(parameter, low, high):
    parameter.bounds = (low, high)
    parameter.prior = Uniform_prior(lower_bound=low, upper_bound=high)


def _sersic(east, north, Re, PA):
    """A user's rough start: position to ~0.3 arcsec, size and PA by eye."""
    ra, dec = sky_position(east, north)
    shape = Sersic(ra=ra, dec=dec, n=2.0, Re=Re, q=0.7, PA=PA)
    cos_dec = math.cos(math.radians(dec))
    for name, (low, high) in {"ra": (ra - 2 / 3600 / cos_dec, ra + 2 / 3600 / cos_dec),
                              "dec": (dec - 2 / 3600, dec + 2 / 3600), "n": (0.3, 6.0), "Re": (0.3, 30.0),
                              "q": (0.1, 1.0), "PA": (PA - 90.0, PA + 90.0)}.items():
        _uniform(getattr(shape, name), low, high)
    return shape


def _magnitudes(**start):
    brightness = BandMagnitudes(**start)
    for band in start:
        _uniform(getattr(brightness, band), 10.0, 25.0)
    return brightness


def _pulls(fit, truths):
    table = fit.results.point_estimates()
    return {path: (table.loc[path, "value"] - truth) / table.loc[path, "positive_error"] for path, truth in truths.items()}


def test_dithered_exposures_fit_jointly_and_tighter_than_one(tmp_path):
    paths = write_dithered_images(tmp_path)
    galaxy = GROUP[0]
    truths = {f"galaxy.Sersic.{k}": getattr(galaxy, k) for k in ("n", "Re", "q", "PA")}
    truths[f"galaxy.{MAGNITUDE}.r"] = galaxy.magnitudes["r"]
    errors = {}
    for label, files in (("one", paths[:1]), ("both", paths)):
        fit = JointLikelihood(tutorial_model({"r": 16.0}, bands=("r",)), DataList(*(read_cutout(p) for p in files)))
        fit.fit(quiet=True)
        pulls = _pulls(fit, truths)
        assert all(abs(pull) < 3.5 for pull in pulls.values()), pulls
        errors[label] = fit.results.point_estimates().loc[list(truths), "positive_error"]
    # two exposures of similar depth: errors shrink by about sqrt(2)
    ratio = (errors["both"] / errors["one"]).to_numpy()
    assert np.all((ratio > 0.55) & (ratio < 0.9)), ratio


def test_supernova_light_curve_on_a_shared_host(tmp_path):
    paths = write_supernova_epochs(tmp_path)
    sources = [ExtendedSource("host", spatial_shape=_sersic(0.2, -0.1, 2.0, 60.0), spectral_shape=_magnitudes(r=17.0))]
    ra, dec = sky_position(1.6, -1.0)  # where a difference image shows it, say
    for epoch in range(1, len(paths) + 1):
        brightness = BandMagnitudes(r=20.5)
        _uniform(brightness.r, 14.0, 26.0)
        sources.append(PointSource(f"sn_{epoch}", ra=ra, dec=dec, spectral_shape=brightness))
    model = Model(*sources)
    for name, half in (("ra", 1.5 / 3600 / math.cos(math.radians(dec))), ("dec", 1.5 / 3600)):
        position = model.parameters[f"sn_1.position.{name}"]
        position.free = True
        _uniform(position, position.value - half, position.value + half)
    share_structure(model, "sn_1", *(f"sn_{k}" for k in range(2, len(paths) + 1)), parameters=("ra", "dec"))
    epochs = []
    for epoch, path in enumerate(paths, start=1):
        image = read_cutout(path)
        image.assign_to_source("host", f"sn_{epoch}")
        epochs.append(image)
    fit = JointLikelihood(model, DataList(*epochs))
    fit.fit(quiet=True)
    true_ra, true_dec = sky_position(SUPERNOVA_HOST.east + SUPERNOVA_OFFSET[0], SUPERNOVA_HOST.north + SUPERNOVA_OFFSET[1])
    truths = {f"sn_{k}.{MAGNITUDE}.r": magnitude for k, (_, magnitude, _) in enumerate(SUPERNOVA_EPOCHS, start=1)}
    truths.update({"sn_1.position.ra": true_ra, "sn_1.position.dec": true_dec,
                   f"host.{MAGNITUDE}.r": SUPERNOVA_HOST.magnitudes["r"], "host.Sersic.Re": SUPERNOVA_HOST.Re,
                   "host.Sersic.n": SUPERNOVA_HOST.n, "host.Sersic.q": SUPERNOVA_HOST.q})
    pulls = _pulls(fit, truths)
    assert all(abs(pull) < 3.5 for pull in pulls.values()), pulls
    # one position for every epoch
    assert model.parameters["sn_4.position.ra"].value == model.parameters["sn_1.position.ra"].value


def test_group_in_three_bands_with_windows(tmp_path):
    paths = write_group_images(tmp_path)
    starts = {"g1": (0.3, -0.2, 5.0, 50.0), "g2": (12.6, 8.3, 2.5, 120.0), "g3": (-11.2, -8.8, 2.0, 40.0)}
    sides = {"g1": 34.0, "g2": 16.0, "g3": 14.0}
    windows = [SkyWindow(*sky_position(*starts[name][:2]), side, side) for name, side in sides.items()]
    images = [read_cutout(path, windows=windows) for path in paths]
    # pixels outside every window are left out
    assert 0 < int((~images[0].excluded).sum()) < images[0].image.data.size
    model = Model(*(ExtendedSource(name, spatial_shape=_sersic(*start), spectral_shape=_magnitudes(r=17.0, W1=17.0, NUV=20.0))
                    for name, start in starts.items()))
    fit = JointLikelihood(model, DataList(*images))
    fit.fit(quiet=True)
    truths = {}
    for galaxy in GROUP:
        ra, dec = galaxy.position
        truths.update({f"{galaxy.name}.Sersic.ra": ra, f"{galaxy.name}.Sersic.dec": dec,
                       f"{galaxy.name}.Sersic.q": galaxy.q, f"{galaxy.name}.Sersic.PA": galaxy.PA,
                       f"{galaxy.name}.Sersic.n": galaxy.n, f"{galaxy.name}.Sersic.Re": galaxy.Re})
        truths.update({f"{galaxy.name}.{MAGNITUDE}.{band}": m for band, m in galaxy.magnitudes.items()})
    pulls = _pulls(fit, truths)
    assert all(abs(pull) < 4.0 for pull in pulls.values()), pulls


def test_share_structure_names_what_is_missing():
    model = Model(ExtendedSource("gal", spatial_shape=Sersic(), spectral_shape=BandMagnitudes(r=17.0)),
                  PointSource("star", ra=0.0, dec=0.0, spectral_shape=BandMagnitudes(r=18.0)))
    with pytest.raises(ModelError, match="no source 'nope'"):
        share_structure(model, "gal", "nope")
    with pytest.raises(ModelError, match="source 'star' has no parameter 'q'"):
        share_structure(model, "gal", "star")
    share_structure(model, "gal", "star", parameters=("ra", "dec"))
    assert model.parameters["star.position.ra"].is_linked
