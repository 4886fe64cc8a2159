"""Anything at all in a file: the readers answer with evidence or a named Problem, never an exception."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.evidence.files import read_paths
from tests.factories import fhir as f
from tests.factories.dicom import write_series
from tests.factories.mesh import write_binary_stl

SUFFIXES = [".json", ".dcm", ".stl", ".ply", ".ndjson", ".bin"]
fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_clean(result, path) -> None:
    assert not result.empty
    for problem in result.problems:
        assert problem.source.startswith(str(path)) and problem.reason and problem.message


@fast
@given(data=st.binary(max_size=600), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("g") / f"x{suffix}"
    path.write_bytes(data)
    assert_clean(read_paths([path]), path)


@fast
@given(cut=st.floats(0.0, 0.999), kind=st.sampled_from(["dcm", "stl", "json"]))
def test_truncated_real_files(tmp_path_factory, cut, kind):
    folder = tmp_path_factory.mktemp("t")
    if kind == "dcm":
        (path,) = write_series(folder, slices=1, rows=8, cols=8, Modality="CT")
    elif kind == "stl":
        path = write_binary_stl(folder / "a.stl", "TRIOS", 20).path
    else:
        path = f.write(folder, "b.json", f.bundle(*f.practice(), f.patient(), f.encounter()))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    assert_clean(read_paths([path]), path)


@fast
@given(value=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                          max_leaves=12),
       field=st.sampled_from(["status", "code", "subject", "encounter", "performer", "series", "class", "type", "entry"]))
def test_fhir_with_any_value_in_a_field(tmp_path_factory, value, field):
    resource = f.procedure("p", "cbct")
    resource[field] = value
    path = f.write(tmp_path_factory.mktemp("v"), "p.json", f.bundle(f.patient(), resource))
    result = read_paths([path])
    assert_clean(result, path)
    json.dumps([p.as_dict() for p in result.problems])


@fast
@given(entry=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                              st.sampled_from(["resource", "request", "response", "fullUrl", "resourceType", "id",
                                               "method", "url", "status", "type", "parameter", "name"]), inner, max_size=4),
                          max_leaves=14),
       kind=st.sampled_from(["transaction", "batch", "transaction-response", "history", "searchset", "collection",
                             "document", "message", "subscription-notification"]))
def test_any_entry_in_any_bundle_type(tmp_path_factory, entry, kind):
    bundle = {"resourceType": "Bundle", "type": kind, "entry": [entry, {"fullUrl": "urn:uuid:p", "resource": f.patient()}]}
    path = f.write(tmp_path_factory.mktemp("e"), "b.json", bundle)
    result = read_paths([path])
    assert_clean(result, path)
    json.dumps([p.as_dict() for p in result.problems] + [n.as_dict() for n in result.notifications])


def test_a_reader_defect_on_one_resource_names_that_entry_and_reads_the_rest(tmp_path, monkeypatch):
    from plugin.evidence import fhir

    real = fhir.validate

    def faulty(resource):
        if resource.get("resourceType") == "Encounter":
            raise AttributeError("'str' object has no attribute 'get'")
        return real(resource)

    monkeypatch.setattr(fhir, "validate", faulty)
    path = f.write(tmp_path, "b.json", f.bundle(f.patient(), f.encounter()))
    result = read_paths([path])
    assert [e.type for e in result.evidence] == ["Patient"]
    (problem,) = result.problems
    assert (problem.source, problem.reason) == (f"{path}#entry[1]", "UnreadableInput")
    assert "AttributeError" in problem.message and "'str'" not in problem.message


def test_a_reader_defect_on_one_file_names_that_file_and_reads_the_others(tmp_path, monkeypatch):
    from plugin.evidence import stl

    def faulty(path):
        raise KeyError("secret")

    monkeypatch.setattr(stl, "read_mesh", faulty)
    mesh = write_binary_stl(tmp_path / "a.stl", "TRIOS", 20).path
    ok = f.write(tmp_path, "p.json", f.patient())
    result = read_paths([mesh, ok])
    assert [e.type for e in result.evidence] == ["Patient"]
    assert [(p.source, p.reason) for p in result.problems] == [(str(mesh), "UnreadableInput")]


def test_a_dicom_reader_defect_names_the_one_file_and_keeps_the_series_of_others(tmp_path, monkeypatch):
    from plugin.evidence import dicom

    good = write_series(tmp_path / "a", slices=2, rows=8, cols=8, Modality="CT")
    (bad,) = write_series(tmp_path / "b", slices=1, rows=8, cols=8, Modality="CT")
    real = dicom.read_dicom_files

    def faulty(files):
        if bad in files:
            raise IndexError("tuple index out of range")
        return real(files)

    monkeypatch.setattr(dicom, "read_dicom_files", faulty)
    result = read_paths([*good, bad])
    assert [e.files for e in result.evidence] == [tuple(str(p) for p in good)]
    assert [(p.source, p.reason) for p in result.problems] == [(str(bad), "UnreadableInput")]
