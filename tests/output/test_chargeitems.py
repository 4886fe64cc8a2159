"""FHIR ChargeItem Bundle output: validity (R4/R5), stable identifiers, determinism, extensions."""
from __future__ import annotations

import dataclasses
import json

import pytest
from fhir.resources.bundle import Bundle as BundleR5
from fhir.resources.chargeitem import ChargeItem as ChargeItemR5
from fhir.resources.R4B.bundle import Bundle as BundleR4B
from fhir.resources.R4B.chargeitem import ChargeItem as ChargeItemR4B
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.output.chargeitems import (
    EXT_ALTERNATIVE,
    EXT_MODIFIER,
    EXT_RULE,
    LINE_ID_SYSTEM,
    SERVICE_TYPES,
    line_identifier,
    status_for,
    to_bundle,
)
from plugin.suggestion import CDT, CPT, Alternative, Line, Notice, Suggestion

NPI = "http://hl7.org/fhir/sid/us-npi|1234567893"


def ct_line(**kw) -> Line:
    base = dict(
        code="70486", system=CPT, label="CT maxillofacial, no contrast", modifiers=("26",), quantity=1,
        step="ct", rule="ct-interpretation-only", rationale="CT acquired in the hospital; practice interprets.",
        evidence=("ImagingStudy/img-1", "Series/1.2.840.113619.2.55.3", "File/maxilla.stl", "Encounter/enc-1",
                  "Procedure/proc-1", "DocumentReference/doc-9"),
        documentation=("signed interpretation report",),
        alternatives=(Alternative("D0367", "dental claim", system=CDT),),
    )
    base.update(kw)
    return Line(**base)


def guide_line() -> Line:
    return Line(
        code="21085", system=CPT, label="Oral surgical splint", modifiers=("52", "TC"), quantity=2,
        step="surgical-splint", rule="splint-outside-lab", rationale="Splint made by an outside lab. " * 8,
        evidence=("DiagnosticReport/dr-1", "Observation/obs-2", "SupplyDelivery/sd-3", "File/splint.stl"),
        documentation=("lab invoice", "operative plan"),
        alternatives=(Alternative("99070", "supplies with the lab invoice"),
                      Alternative("21085", "reduced service", modifiers=("52",))),
    )


def cbct_line() -> Line:
    return Line(
        code="D0367", system=CDT, label="CBCT both jaws", modifiers=(), quantity=1, step="cbct", rule="",
        rationale="", evidence=(),
    )


def medical_case() -> Suggestion:
    return Suggestion(
        case="Encounter/enc-1", claim="medical", practice=NPI, patient="Patient/pt-1",
        encounter="Encounter/enc-1", date="2026-10-14", mappings_version="2026.1",
        lines=[ct_line(), guide_line()],
        notices=[Notice("global-period", ("21085",), "21085 has a 10-day global period.")],
    )


def dental_case_without_patient() -> Suggestion:
    return Suggestion(
        case="Patient/pt-2|2026-10-15", claim="dental", practice="1234567893",
        patient_identifier="DICOM-PID-42", date="2026-10-15", lines=[cbct_line()],
    )


def identifier_only_case() -> Suggestion:
    return Suggestion(
        case="Patient/pt-3|2026-10-16", claim="dental", practice=NPI,
        patient_identifier="urn:oid:1.2.3|MRN-7", lines=[cbct_line(), ct_line(evidence=("Series/9.8.7",))],
    )


ALL = [medical_case(), dental_case_without_patient(), identifier_only_case()]
MODELS = {"R4": (BundleR4B, ChargeItemR4B), "R4B": (BundleR4B, ChargeItemR4B), "R5": (BundleR5, ChargeItemR5)}


def items(bundle: dict) -> list[dict]:
    return [e["resource"] for e in bundle["entry"]]


def ext(item: dict, url: str) -> list[dict]:
    return [e for e in item.get("extension", []) if e["url"] == url]


# --- validity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["R4", "R4B", "R5"])
def test_bundle_validates_and_parses_back(version):
    bundle = to_bundle(ALL, version)
    bundle_model, item_model = MODELS[version]
    parsed = bundle_model.model_validate(bundle)
    assert parsed.type == "transaction"
    assert len(parsed.entry) == 5
    for entry in parsed.entry:
        assert isinstance(entry.resource, item_model)
        assert entry.resource.status == "planned"
        assert entry.request.method == "PUT"
    # also parses standalone from JSON text
    for item in items(bundle):
        item_model.model_validate_json(json.dumps(item))


def test_entry_request_is_conditional_update_on_identifier():
    bundle = to_bundle([medical_case()])
    for entry in bundle["entry"]:
        ident = entry["resource"]["identifier"][0]
        assert ident["system"] == LINE_ID_SYSTEM
        assert entry["request"] == {"method": "PUT", "url": f"ChargeItem?identifier={LINE_ID_SYSTEM}|{ident['value']}"}
        assert entry["fullUrl"] == f"urn:uuid:{ident['value']}"


def test_empty_input_is_empty_transaction():
    for version in ("R4", "R5"):
        bundle = to_bundle([], version)
        assert bundle == {"resourceType": "Bundle", "type": "transaction"}
        MODELS[version][0].model_validate(bundle)


# --- identifiers and determinism --------------------------------------------------------------


def test_identifiers_stable_and_distinct():
    first = [i["identifier"][0]["value"] for i in items(to_bundle(ALL))]
    again = [i["identifier"][0]["value"] for i in items(to_bundle(ALL))]
    assert first == again
    assert len(set(first)) == len(first)
    # the same code (D0367) in two different cases gets two identifiers
    d0367 = [i["identifier"][0]["value"] for i in items(to_bundle(ALL)) if i["code"]["coding"][0]["code"] == "D0367"]
    assert len(d0367) == 2 and d0367[0] != d0367[1]


def test_identifier_is_same_for_r4_and_r5():
    r4 = [i["identifier"] for i in items(to_bundle(ALL, "R4"))]
    r5 = [i["identifier"] for i in items(to_bundle(ALL, "R5"))]
    assert r4 == r5


def test_same_input_gives_byte_identical_json():
    for version in ("R4", "R5"):
        a = json.dumps(to_bundle(ALL, version))
        b = json.dumps(to_bundle([medical_case(), dental_case_without_patient(), identifier_only_case()], version))
        assert a == b


def test_duplicate_line_key_in_one_case_is_rejected():
    s = medical_case()
    s.lines.append(ct_line(rationale="again"))
    with pytest.raises(ValueError, match="70486-26"):
        to_bundle([s])


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@settings(max_examples=60, deadline=None)
@given(practice=texts, case=texts, claim=texts, code=texts, modifiers=st.lists(texts, max_size=3),
       label=texts, quantity=st.integers(1, 9), rationale=texts, patient=texts, date=texts)
def test_identifier_depends_only_on_practice_case_claim_and_line_key(
    practice, case, claim, code, modifiers, label, quantity, rationale, patient, date
):
    s = Suggestion(case=case, claim=claim, practice=practice)
    line = Line(code=code, system=CPT, label="x", modifiers=tuple(modifiers), quantity=1, step="s", rule="r",
                rationale="", evidence=())
    ident = line_identifier(s, line)
    # anything else may change: the identifier does not
    other_s = dataclasses.replace(s, patient=patient, date=date, encounter=patient, lines=[line])
    other_line = dataclasses.replace(line, label=label, quantity=quantity, rationale=rationale,
                                     system=CDT, step=label, rule=rationale, evidence=(patient,))
    assert line_identifier(other_s, other_line) == ident
    assert ident[0] == LINE_ID_SYSTEM
    # any of the four parts changes: the identifier does too
    assert line_identifier(dataclasses.replace(s, practice=practice + "x"), line) != ident
    assert line_identifier(dataclasses.replace(s, case=case + "x"), line) != ident
    assert line_identifier(dataclasses.replace(s, claim=claim + "x"), line) != ident
    assert line_identifier(s, dataclasses.replace(line, modifiers=(*modifiers, "x"))) != ident


def test_identifier_parts_do_not_run_together():
    line = cbct_line()
    a = Suggestion(case="ab", claim="c", practice="p")
    b = Suggestion(case="a", claim="bc", practice="p")
    assert line_identifier(a, line) != line_identifier(b, line)


# --- content ----------------------------------------------------------------------------------


def test_code_quantity_and_modifier_extension():
    item = items(to_bundle([medical_case()]))[1]
    assert item["code"] == {"coding": [{"system": CPT, "code": "21085", "display": "Oral surgical splint"}]}
    assert item["quantity"] == {"value": 2}
    mods = ext(item, EXT_MODIFIER)
    assert [m["valueCoding"] for m in mods] == [{"system": CPT, "code": "52"}, {"system": CPT, "code": "TC"}]
    assert ext(item, EXT_RULE) == [{"url": EXT_RULE, "valueString": "splint-outside-lab"}]


def test_no_modifiers_no_rule_no_note_means_no_such_elements():
    item = items(to_bundle([dental_case_without_patient()]))[0]
    assert "extension" not in item
    assert "note" not in item
    assert "service" not in item and "supportingInformation" not in item


def test_alternative_extension():
    item = items(to_bundle([medical_case()]))[1]
    alts = ext(item, EXT_ALTERNATIVE)
    assert alts[0]["extension"] == [{"url": "code", "valueString": "99070"},
                                    {"url": "why", "valueString": "supplies with the lab invoice"}]
    assert alts[1]["extension"] == [{"url": "code", "valueString": "21085"},
                                    {"url": "modifier", "valueString": "52"},
                                    {"url": "why", "valueString": "reduced service"}]
    ct = items(to_bundle([medical_case()]))[0]
    assert ext(ct, EXT_ALTERNATIVE)[0]["extension"][1] == {"url": "system", "valueUri": CDT}


def test_note_holds_rationale_documentation_and_alternatives():
    item = items(to_bundle([medical_case()]))[1]
    texts_ = [n["text"] for n in item["note"]]
    assert texts_[0].startswith("Splint made by an outside lab.")
    assert texts_[1] == "Documentation needed:\n- lab invoice\n- operative plan"
    assert texts_[2] == "Alternatives:\n- 99070: supplies with the lab invoice\n- 21085-52: reduced service"


def test_r4_uses_context_and_r5_uses_encounter():
    r4 = items(to_bundle([medical_case()], "R4"))[0]
    r5 = items(to_bundle([medical_case()], "R5"))[0]
    assert r4["context"] == {"reference": "Encounter/enc-1"} and "encounter" not in r4
    assert r5["encounter"] == {"reference": "Encounter/enc-1"} and "context" not in r5
    assert ChargeItemR4B.model_validate(r4).context.reference == "Encounter/enc-1"
    assert ChargeItemR5.model_validate(r5).encounter.reference == "Encounter/enc-1"


def test_no_encounter_means_neither_element():
    for version in ("R4", "R5"):
        item = items(to_bundle([dental_case_without_patient()], version))[0]
        assert "context" not in item and "encounter" not in item


def test_subject_performer_and_date():
    med, _, dental, ident_only, _ = items(to_bundle(ALL))
    assert med["subject"] == {"reference": "Patient/pt-1"}
    assert med["occurrenceDateTime"] == "2026-10-14"
    assert med["performingOrganization"] == {
        "identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}
    }
    assert dental["subject"] == {"identifier": {"value": "DICOM-PID-42"}}
    assert dental["performingOrganization"] == {"identifier": {"value": "1234567893"}}
    assert ident_only["subject"] == {"identifier": {"system": "urn:oid:1.2.3", "value": "MRN-7"}}
    assert "occurrenceDateTime" not in ident_only


def test_evidence_split_between_service_and_supporting_information_r4():
    item = items(to_bundle([medical_case()], "R4"))[0]
    assert item["service"] == [{"reference": "ImagingStudy/img-1"}, {"reference": "Procedure/proc-1"}]
    assert item["supportingInformation"] == [
        {"identifier": {"system": "urn:dicom:uid", "value": "urn:oid:1.2.840.113619.2.55.3"}, "display": "DICOM series"},
        {"display": "file maxilla.stl"},
        {"reference": "Encounter/enc-1"},
        {"reference": "DocumentReference/doc-9"},
    ]
    guide = items(to_bundle([medical_case()], "R4"))[1]
    assert [s["reference"] for s in guide["service"]] == ["DiagnosticReport/dr-1", "Observation/obs-2", "SupplyDelivery/sd-3"]


def test_r5_service_is_codeable_reference():
    item = items(to_bundle([medical_case()], "R5"))[0]
    assert item["service"] == [{"reference": {"reference": "ImagingStudy/img-1"}},
                               {"reference": {"reference": "Procedure/proc-1"}}]
    parsed = ChargeItemR5.model_validate(item)
    assert parsed.service[0].reference.reference == "ImagingStudy/img-1"


def test_r5_only_service_types():
    s = medical_case()
    s.lines = [ct_line(evidence=("ServiceRequest/sr-1",))]
    r4 = items(to_bundle([s], "R4"))[0]
    r5 = items(to_bundle([s], "R5"))[0]
    assert r4["supportingInformation"] == [{"reference": "ServiceRequest/sr-1"}] and "service" not in r4
    assert r5["service"] == [{"reference": {"reference": "ServiceRequest/sr-1"}}]


@pytest.mark.parametrize("version,field", [("R4", "service"), ("R5", "service")])
def test_service_types_match_fhir_resources(version, field):
    model = ChargeItemR4B if version == "R4" else ChargeItemR5
    assert set(model.model_fields[field].json_schema_extra["enum_reference_types"]) == SERVICE_TYPES[version]


def test_missing_subject_is_an_error():
    s = Suggestion(case="Encounter/enc-9", claim="medical", practice=NPI, lines=[cbct_line()])
    with pytest.raises(ValueError, match="Encounter/enc-9"):
        to_bundle([s])


def test_bad_date_is_an_error():
    s = dataclasses.replace(medical_case(), date="14/10/2026")
    with pytest.raises(ValueError, match="14/10/2026"):
        to_bundle([s])


# --- status and version -----------------------------------------------------------------------


@pytest.mark.parametrize("decision,status", [
    ("pending", "planned"), ("approved", "billable"), ("rejected", "not-billable"), ("withdrawn", "entered-in-error"),
])
def test_status_for(decision, status):
    assert status_for(decision) == status


def test_status_for_unknown_decision():
    with pytest.raises(ValueError, match=r"'maybe'.*'pending', 'approved', 'rejected', 'withdrawn'"):
        status_for("maybe")


def test_status_values_are_valid_chargeitem_statuses():
    item = items(to_bundle([medical_case()], "R4"))[0]
    for decision in ("pending", "approved", "rejected", "withdrawn"):
        ChargeItemR4B.model_validate({**item, "status": status_for(decision)})


@pytest.mark.parametrize("version", ["R3", "r4", "STU3", ""])
def test_bad_version(version):
    with pytest.raises(ValueError, match=f"{version!r}.*R4, R4B, R5"):
        to_bundle(ALL, version)


def test_an_issuer_name_that_is_no_uri_becomes_the_assigner():
    s = Suggestion(case="PatientID/MRN-7^LAKESIDE|2026-10-16", claim="dental", practice=NPI,
                   patient_identifier="MRN-7", patient_assigner="LAKESIDE", lines=[cbct_line()])
    (item,) = items(to_bundle([s]))
    assert item["subject"] == {"identifier": {"value": "MRN-7", "assigner": {"display": "LAKESIDE"}}}
    ChargeItemR4B.model_validate(item)
