import pytest

from plugin.errors import SourceRefused
from plugin.sources.references import to_relative, type_and_id

BASE = "https://ehr.example.org/fhir"


@pytest.mark.parametrize("ref, expected", [
    ("Encounter/e1", "Encounter/e1"),
    ("Procedure/p-1.2/_history/4", "Procedure/p-1.2"),
    (f"{BASE}/Encounter/e1", "Encounter/e1"),
    ("https://EHR.example.org:443/fhir/Encounter/e1", "Encounter/e1"),
    (f"{BASE}/ImagingStudy/s1/_history/2", "ImagingStudy/s1"),
])
def test_references_on_the_base(ref, expected):
    assert to_relative(ref, BASE) == expected


@pytest.mark.parametrize("ref", [
    "https://evil.example.com/fhir/Encounter/e1",
    "http://ehr.example.org/fhir/Encounter/e1",            # another scheme
    "https://ehr.example.org:8443/fhir/Encounter/e1",       # another port
    "https://ehr.example.org/fhirx/Encounter/e1",           # a path that only starts like the base
    "https://ehr.example.org/other/Encounter/e1",
    "https://ehr.example.org/fhir/Encounter/e1?x=1",
    "https://user@ehr.example.org/fhir/Encounter/e1",
    "https://ehr.example.org/fhir/../admin/Encounter/e1",
    "urn:uuid:0f0e0d0c-0000-4000-8000-000000000001",
    "Encounter",
    "//evil.example.com/fhir/Encounter/e1",
])
def test_anything_else_is_refused_without_echoing_the_url(ref):
    with pytest.raises(SourceRefused, match="not on the configured FHIR server") as err:
        to_relative(ref, BASE)
    assert err.value.status == 422 and "evil" not in str(err.value) and "example" not in str(err.value)


def test_with_no_base_only_relative_references_pass():
    assert to_relative("Encounter/e1", "") == "Encounter/e1"
    with pytest.raises(SourceRefused):
        to_relative(f"{BASE}/Encounter/e1", "")


def test_type_and_id_ignores_the_server():
    assert type_and_id("http://a.example/R5/Encounter/2") == type_and_id("https://b.example/x/Encounter/2/_history/1") \
        == "Encounter/2"
    assert type_and_id("urn:uuid:1234") is None
