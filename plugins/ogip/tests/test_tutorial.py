"""The ACIS-like observation the X-ray notebook starts from: what it writes is what
an OGIP reader expects, and its background is the rate integrated over channels."""

from __future__ import annotations

import numpy as np
import pytest

from jointfit import Powerlaw
from jointfit_ogip import OGIPLike
from jointfit_ogip.tutorial import (BACKGROUND_AREA_RATIO, acis_like_response, background_rate_counts,
                                    write_acis_like_observation)


def test_background_counts_are_the_rate_integrated_over_each_channel() -> None:
    """A power-law rate of index -1.5, integrated analytically per channel: to 1e-9
    relative, except the first channel (0.0015-0.015 keV, a decade wide, which the
    8-point rule integrates to 1e-3)."""
    response = acis_like_response()
    rate = Powerlaw(K=3e-4, index=-1.5)
    counts = background_rate_counts(rate, response, exposure=1000.0)
    lo, hi = response.channel_lo, response.channel_hi
    analytic = 3e-4 * (hi**-0.5 - lo**-0.5) / -0.5 * 1000.0  # K (E/1 keV)^-1.5, pivot 1 keV
    np.testing.assert_allclose(counts[1:], analytic[1:], rtol=1e-9)
    np.testing.assert_allclose(counts[0], analytic[0], rtol=1e-3)


def test_written_observation_reads_back_with_its_background_and_responses(tmp_path) -> None:
    """The spectrum names its background, RMF and ARF; the background region is
    BACKGROUND_AREA_RATIO times the source's, and its counts are Poisson around the
    rate times that ratio (total within 4 sigma)."""
    rate = Powerlaw(K=5e-5, index=0.0)
    path = write_acis_like_observation(tmp_path, Powerlaw(K=1e-3, index=-1.9), rate, stem="q", exposure=20000.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.arf", "q.pi", "q.rmf", "q_bg.pi"]
    plugin = OGIPLike("q", path)
    assert plugin.observation.exposure == pytest.approx(20000.0)
    ratio = plugin.background.backscal / plugin.observation.backscal
    np.testing.assert_allclose(ratio, BACKGROUND_AREA_RATIO)
    expected = BACKGROUND_AREA_RATIO * background_rate_counts(rate, acis_like_response(), 20000.0).sum()
    assert abs(plugin.background.counts.sum() - expected) < 4.0 * np.sqrt(expected)
