"""Fixtures of the EHR client tests: a FhirClient on the real validating FHIR test server."""
from __future__ import annotations

import pytest

from plugin.ehr import FhirClient


@pytest.fixture
def client(fhir_server):
    with FhirClient(fhir_server.base_url, timeout=10.0) as c:
        yield c
