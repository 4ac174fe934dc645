import os

from hypothesis import HealthCheck, settings

# CI: derandomized, so a run is repeatable. thorough: many random examples, to explore on demand
# (HYPOTHESIS_PROFILE=thorough pytest); every failure it finds becomes an @example.
settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
