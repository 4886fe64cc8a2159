import pytest

from plugin import pipeline
from plugin.store import Store
from tests.pipeline.runner import ROOT
from tests.store.databases import database_url, empty, postgres_url, settings_for  # noqa: F401  (fixtures)

EXAMPLE = ROOT / "examples" / "orthognathic-planning"
PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"


@pytest.fixture
def fhir_ctx(database_url, tmp_path, fhir_base_url):  # noqa: F811
    """A pipeline Context on an empty store, writing to (and reading from) the real FHIR test server."""
    c = pipeline.Context(settings_for(database_url, tmp_path, DWCODER_PRACTICE=PRACTICE, FHIR_BASE_URL=fhir_base_url),
                         Store(database_url))
    empty(c.store)
    yield c
    c.store.dispose()

