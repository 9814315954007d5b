"""One batched pass over every fixture, shared by all the per-group gates (a pass over the
62 speech fixtures one by one takes minutes; batched it is one decode)."""

import pytest

from tests.accuracy.gated_run import fixture_run


@pytest.fixture(scope="session")
def gated_fixture_run(offline_model, fixture_entries):
    return fixture_run(offline_model, fixture_entries)
