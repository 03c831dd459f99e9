"""Tests on real mission files from ../shared/data (CI always has it; users do not)."""

from __future__ import annotations

import pathlib

import pytest

SHARED_DATA = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    if not SHARED_DATA.is_dir():
        raise RuntimeError(f"the real-data tests need {SHARED_DATA} (present in CI and developer checkouts)")
    return SHARED_DATA
