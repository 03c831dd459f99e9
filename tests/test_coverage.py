"""Calibration of posterior intervals: over many data sets whose true parameters are
drawn from the prior, a central X % credible interval holds the truth in X % of them
(exactly so for a correct posterior and sampler), within binomial error."""

from __future__ import annotations

import numpy as np
import pytest

from jointfit import BayesianAnalysis, DataList, Gaussian, Line, Model, PointSource, XYLike

N_DATA_SETS = 50
X = np.linspace(0.0, 4.0, 12)
SIGMA = np.full(X.size, 0.8)
PRIORS = {"a": (1.0, 1.0), "b": (0.5, 0.5)}  # Gaussian (mu, sigma) of the line's a and b


def analysis_of(truth: dict[str, float], seed: int) -> BayesianAnalysis:
    data = XYLike.from_function("xy", Line(**truth), X, yerr=SIGMA, seed=seed)
    shape = Line(a=0.0, b=0.0)
    for name, (mu, sigma) in PRIORS.items():
        getattr(shape, name).bounds = (None, None)
        getattr(shape, name).prior = Gaussian(mu=mu, sigma=sigma)
    return BayesianAnalysis(Model(PointSource("src", ra=0.0, dec=0.0, spectral_shape=shape)), DataList(data))


@pytest.mark.slow
def test_nuts_central_intervals_cover_the_truth_at_their_nominal_rate():
    rng = np.random.default_rng(2026)
    hits = {(name, level): 0 for name in PRIORS for level in (0.68, 0.90)}
    for i in range(N_DATA_SETS):
        truth = {name: rng.normal(mu, sigma) for name, (mu, sigma) in PRIORS.items()}
        results = analysis_of(truth, seed=i).sample(sampler="nuts", quiet=True, progress_bar=False,
                                                    num_warmup=200, num_samples=600, seed=i)
        for name in PRIORS:
            draws = results.samples(f"src.spectrum.main.Line.{name}")
            for level in (0.68, 0.90):
                low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
                hits[(name, level)] += int(low < truth[name] < high)
    for (name, level), count in hits.items():
        rate = count / N_DATA_SETS
        binomial_error = np.sqrt(level * (1 - level) / N_DATA_SETS)
        assert abs(rate - level) < 3 * binomial_error, (name, level, rate)
