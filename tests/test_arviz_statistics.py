"""The statistics results quote give the same numbers under ArviZ 0.x and 1.x: each is
checked here against an independent numpy calculation under the installed ArviZ (CI
runs one ArviZ generation per Python)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jointfit import _arviz

REFERENCE = Path(__file__).resolve().parent / "data" / "arviz0_statistics.npz"


def test_waic_is_watanabes_from_every_draw():
    rng = np.random.default_rng(5)
    pointwise = rng.normal(-1.0, 0.3, size=(2, 400, 15))
    flat = pointwise.reshape(800, 15)
    expected = sum(np.log(np.mean(np.exp(flat[:, i]))) - np.var(flat[:, i]) for i in range(15))
    assert _arviz.elpd_waic(pointwise) == pytest.approx(expected, rel=1e-12)


def test_loo_of_points_no_parameter_reaches_is_their_log_likelihood():
    """A channel whose log-likelihood is the same in every draw adds exactly that value,
    and one whose largest importance weights are equal (most draws at one value) its
    plain importance-sampling estimate (ArviZ 1.x's smoothing
    refuses both)."""
    rng = np.random.default_rng(6)
    varying = rng.normal(-1.0, 0.2, size=(2, 500, 10))
    constant = np.broadcast_to(np.array([-0.5, 0.0]), (2, 500, 2))
    both = np.concatenate([varying, constant], axis=-1)
    assert _arviz.elpd_loo(both) == pytest.approx(_arviz.elpd_loo(varying) - 0.5, rel=1e-12)
    assert _arviz.elpd_loo(constant) == pytest.approx(-0.5, rel=1e-12)
    # the largest weights 1/p are those of the 90 % of draws at ln p = 0
    mostly_zero = np.where(rng.uniform(size=(2, 500, 1)) < 0.9, 0.0, rng.exponential(1e-3, size=(2, 500, 1)))
    expected = -np.log(np.mean(np.exp(-mostly_zero)))
    assert _arviz.elpd_loo(np.concatenate([varying, mostly_zero], axis=-1)) == pytest.approx(
        _arviz.elpd_loo(varying) + expected, rel=1e-12)
    # for well-behaved points PSIS-LOO sits near WAIC (both estimate the same elpd)
    assert _arviz.elpd_loo(varying) == pytest.approx(_arviz.elpd_waic(varying), abs=0.05)


def test_hdi_is_the_narrowest_interval_holding_the_probability():
    rng = np.random.default_rng(7)
    values = rng.gamma(2.0, size=2001)
    ordered = np.sort(values)
    inside = int(np.floor(0.68 * values.size))
    widths = ordered[inside:] - ordered[:-inside]
    start = int(np.argmin(widths))
    np.testing.assert_array_equal(_arviz.hdi(values, 0.68), [ordered[start], ordered[start + inside]])


def test_ess_and_rhat_see_correlated_and_mixed_chains():
    rng = np.random.default_rng(8)
    independent = rng.normal(size=(2, 1000))
    # an AR(1) chain of coefficient 0.9 has an ESS of about n (1 - 0.9) / (1 + 0.9)
    correlated = np.empty((2, 1000))
    correlated[:, 0] = rng.normal(size=2)
    for t in range(1, 1000):
        correlated[:, t] = 0.9 * correlated[:, t - 1] + np.sqrt(1 - 0.81) * rng.normal(size=2)
    assert _arviz.ess(independent, "bulk") == pytest.approx(2000, rel=0.15)
    assert _arviz.ess(correlated, "bulk") == pytest.approx(2000 * 0.1 / 1.9, rel=0.35)
    assert _arviz.ess(independent, "tail") == pytest.approx(2000, rel=0.25)
    assert _arviz.rhat(independent) == pytest.approx(1.0, abs=0.01)
    shifted = independent + np.array([[0.0], [3.0]])
    assert _arviz.rhat(shifted) > 1.5


def test_every_arviz_generation_gives_arviz_0s_own_numbers():
    """ESS (bulk and tail), R-hat, HDI and WAIC as ArviZ 0.23's own functions gave them
    for fixed arrays (tests/data/make_arviz0_statistics.py), to rounding."""
    import sys

    sys.path.insert(0, str(REFERENCE.parent))
    try:
        from make_arviz0_statistics import arrays
    finally:
        sys.path.pop(0)
    data = arrays()
    with np.load(REFERENCE) as stored:
        reference = {key: stored[key] for key in stored.files}
    for name in ("autocorrelated", "skewed"):
        assert _arviz.ess(data[name], "bulk") == pytest.approx(float(reference[f"{name}/ess_bulk"]), rel=1e-12)
        assert _arviz.ess(data[name], "tail") == pytest.approx(float(reference[f"{name}/ess_tail"]), rel=1e-12)
        assert _arviz.rhat(data[name]) == pytest.approx(float(reference[f"{name}/rhat"]), rel=1e-12)
        np.testing.assert_allclose(_arviz.hdi(data[name].ravel(), 0.68), reference[f"{name}/hdi_68"], rtol=1e-12)
    assert _arviz.elpd_waic(data["log_likelihood"]) == pytest.approx(
        float(reference["log_likelihood/elpd_waic"]), rel=1e-12)
