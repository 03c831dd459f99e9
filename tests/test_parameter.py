"""Parameter values, bounds, units, free/fixed state and file state."""

from __future__ import annotations

import math

import astropy.units as u
import pytest

from jointfit import JointfitWarning, Parameter, Uniform_prior
from jointfit.errors import ParameterError, PriorError


def make(**kwargs) -> Parameter:
    return Parameter("kT", 30.0, unit="keV", bounds=(0.0, None), **kwargs)


def test_value_accepts_numbers_and_quantities_in_any_compatible_unit():
    kt = make()
    kt.value = 0.5 * u.MeV
    assert kt.value == pytest.approx(500.0, rel=1e-15)
    assert kt.quantity == 500.0 * u.keV
    with pytest.raises(ParameterError, match="cannot be converted to its unit keV"):
        kt.value = 3 * u.s
    with pytest.raises(ParameterError, match="must be a number, got 'hot'"):
        kt.value = "hot"
    with pytest.raises(ParameterError, match="is NaN"):
        kt.value = math.nan
    with pytest.raises(ParameterError, match="must be finite"):
        kt.value = math.inf


def test_values_outside_bounds_raise_and_bad_bounds_are_refused():
    kt = make()
    with pytest.raises(ParameterError, match=r"'kT': value -1.0 is outside its bounds \[0.0, None\]"):
        kt.value = -1.0
    with pytest.raises(ParameterError, match="bounds need min < max"):
        kt.bounds = (5, 1)
    with pytest.raises(ParameterError, match="must be a pair"):
        kt.bounds = 5
    with pytest.raises(ParameterError, match="outside its bounds"):
        Parameter("x", 5.0, bounds=(0, 1))
    assert kt.value == 30.0 and kt.bounds == (0.0, None)


def test_narrowing_bounds_moves_the_value_inside_with_a_warning():
    kt = make()
    with pytest.warns(JointfitWarning, match="was outside the new bounds"):
        kt.bounds = (50.0, 100.0)
    assert kt.value == 50.0
    kt.max_value = None
    kt.min_value = -math.inf  # infinite bounds mean open
    assert kt.bounds == (None, None)


def test_free_and_fix_are_opposites():
    kt = make(free=False)
    assert kt.fix and not kt.free
    kt.free = True
    assert not kt.fix
    kt.fix = True
    assert not kt.free


def test_state_round_trips_through_a_dict():
    kt = make(prior=Uniform_prior(lower_bound=1, upper_bound=100), description="temperature")
    kt.value = 1 / 3
    twin = Parameter("kT", 1.0, unit="keV")
    twin.update_from_dict(kt.to_dict())
    assert (twin.value, twin.bounds, twin.prior, twin.free, twin.description) == (
        kt.value, kt.bounds, kt.prior, kt.free, kt.description)
    wrong_unit = Parameter("kT", 1.0, unit="s")
    with pytest.raises(ParameterError, match="file gives unit keV, expected s"):
        wrong_unit.update_from_dict(kt.to_dict())


def test_prior_must_be_a_prior():
    with pytest.raises(PriorError, match="is not a prior"):
        make().prior = 3.0
    with pytest.raises(ParameterError, match="not a unit astropy understands"):
        Parameter("x", 1.0, unit="parsnips")


def test_bounds_must_leave_finite_values_and_file_state_is_all_or_nothing():
    kt = make(prior=Uniform_prior(lower_bound=1, upper_bound=100))
    with pytest.raises(ParameterError, match="leave no finite value"):
        kt.bounds = (math.inf, None)
    with pytest.raises(ParameterError, match="leave no finite value"):
        kt.bounds = (None, -math.inf)
    state = kt.to_dict()
    with pytest.raises(ParameterError, match="value must be finite"):
        kt.update_from_dict({**state, "value": math.inf})
    with pytest.raises(PriorError, match="unknown prior"):
        kt.update_from_dict({**state, "prior": {"Nope": {}}})
    assert (kt.value, kt.bounds, kt.prior) == (30.0, (0.0, None), Uniform_prior(1, 100))


def test_uninformative_prior_errors_name_the_parameter():
    from jointfit import Log_uniform_prior

    index = Parameter("index", -2.0, bounds=(-10, 10))
    with pytest.raises(PriorError, match="'index'.*0 < lower_bound"):
        index.set_uninformative_prior(Log_uniform_prior)
