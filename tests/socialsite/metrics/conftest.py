from tests.e2e.conftest import pytest_runtest_makereport, service_env, spawn, start_daphne  # noqa: F401 - fixtures
