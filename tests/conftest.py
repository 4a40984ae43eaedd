"""Shared fixtures: every test starts from the same seed."""

import pytest

import nabla


@pytest.fixture(autouse=True)
def _seed():
    nabla.manual_seed(0)
    yield
