import os

import pytest
from hypothesis import HealthCheck, settings

import minigan

# CI: derandomized, so a run is repeatable. thorough: many random examples, to explore on demand
# (HYPOTHESIS_PROFILE=thorough pytest); every failure it finds becomes an @example.
settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ON_CI = os.environ.get("CI") == "true"
if ON_CI:
    import torch  # noqa: F401  (CI must run the torch parity tests: fail loudly if torch is missing)


def pytest_runtest_logreport(report):
    """On CI a torch parity test that skips is a failure, so parity never goes unchecked there."""
    if ON_CI and report.skipped and "torch" in str(report.longrepr).lower():
        report.outcome = "failed"


@pytest.fixture(scope="module")
def fast_paths():
    """The fast paths on, whatever MINIGAN_REFERENCE says: for the tests that hold them to the reference
    (``pytestmark = pytest.mark.usefixtures("fast_paths")``), so that the suite also runs under
    MINIGAN_REFERENCE=1, every other test then on the reference."""
    with minigan.reference_mode(False):
        yield
