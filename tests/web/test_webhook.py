import json
import struct
import time

import pytest

from tests.sources.shapes import procedure
from tests.web.conftest import KEY_NEW, KEY_OLD, KEY_SMALL, outcome_of

FHIR = json.dumps(procedure("p1", "4")).encode()
DICOM_JSON = json.dumps([{"0020000E": {"vr": "UI", "Value": ["1.2.840.1.2"]},
                          "00080060": {"vr": "CS", "Value": ["CT"]}}]).encode()
PART10 = b"\x00" * 128 + b"DICM" + bytes(range(256)) + b"\xff\xfe\xfd"
STL = b"\x00" * 80 + struct.pack("<I", 1) + b"\x9a" * 50


@pytest.mark.parametrize("ctype, raw, kind, stored_type", [
    ("application/fhir+json", FHIR, "fhir", "application/fhir+json"),
    ("application/json", FHIR, "fhir", "application/fhir+json"),
    ("application/dicom+json", DICOM_JSON, "dicom-json", "application/dicom+json"),
    ("application/dicom", PART10, "dicom-file", "application/dicom"),
    ("model/stl", STL, "mesh-file", "model/stl"),
    ("model/ply", b"ply\nformat binary_little_endian 1.0\n\xff\x00", "mesh-file", "model/ply"),
])
def test_each_body_kind_is_stored_byte_for_byte(service, ctype, raw, kind, stored_type):
    r = service.webhook("lab", raw, ctype, msg_id="msg_kind")
    assert r.status_code == 202, r.text
    (event,) = service.events()
    assert (event.kind, event.content_type, event.body, event.dedup_key, event.source) == \
        (kind, stored_type, raw, "webhook:lab:msg_kind", "webhook:lab")
    assert service.queued == [event.id]


def test_octet_stream_with_a_filename(service):
    r = service.webhook("lab", STL, "application/octet-stream", msg_id="m2",
                        **{"content-disposition": 'attachment; filename="lower-arch.stl"'})
    assert r.status_code == 202 and service.events()[0].kind == "mesh-file"


def test_a_rotated_out_secret_still_active_is_accepted(service):
    assert service.webhook("lab", FHIR, key=KEY_OLD).status_code == 202


def test_a_replayed_webhook_id_is_accepted_once_and_queued_once(service):
    first = service.webhook("lab", FHIR, msg_id="msg_same")
    again = service.webhook("lab", FHIR, msg_id="msg_same")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["accepted"][0] == {"event": first.json()["accepted"][0]["event"], "duplicate": True}
    assert service.stored() == 1 and len(service.queued) == 1


# ------------------------------------------------------------------ refusals: status, and nothing kept

def test_unknown_source(service):
    r = service.webhook("nobody", FHIR)
    assert r.status_code == 401 and service.nothing_kept()


@pytest.mark.parametrize("change", ["key", "stale", "future", "body"])
def test_wrong_or_stale_signature(service, change):
    if change == "key":
        r = service.webhook("lab", FHIR, key=KEY_SMALL)
    elif change in ("stale", "future"):
        r = service.webhook("lab", FHIR, stamp=int(time.time()) + (-301 if change == "stale" else 301))
    else:
        r = service.request("POST", "/webhooks/lab", content=FHIR + b" ", headers={
            "content-type": "application/fhir+json", **_signed(FHIR)})
    assert r.status_code == 401 and outcome_of(r)["code"] == "security"
    assert service.nothing_kept()


def _signed(raw):
    from plugin.sources.webhooks import sign
    stamp = int(time.time())
    return {"webhook-id": "m", "webhook-timestamp": str(stamp), "webhook-signature": sign(KEY_NEW, "m", stamp, raw)}


def test_broken_json(service):
    r = service.webhook("lab", b'{"resourceType": "Procedure", "status": ')
    assert r.status_code == 400 and service.nothing_kept()


def test_invalid_fhir(service):
    bad = procedure()
    bad["unknownThing"] = "Mary Major"
    r = service.webhook("lab", json.dumps(bad).encode())
    issue = outcome_of(r)
    assert r.status_code == 422 and issue["expression"] == ["Procedure.unknownThing"] and "Mary" not in r.text
    assert service.nothing_kept()


def test_dicom_json_without_the_tags_the_reader_needs(service):
    raw = json.dumps([{"00080060": {"vr": "CS", "Value": ["CT"]}}]).encode()
    r = service.webhook("lab", raw, "application/dicom+json")
    assert r.status_code == 422 and "SeriesInstanceUID" in outcome_of(r)["diagnostics"]
    assert service.nothing_kept()


def test_unsupported_media_type(service):
    r = service.webhook("lab", b"%PDF-1.7", "application/pdf")
    assert r.status_code == 415 and service.nothing_kept()


def test_body_over_the_limit_by_content_length(service):
    r = service.webhook("scanner", b"solid " + b"x" * 4096, "model/stl", key=KEY_SMALL)
    assert r.status_code == 413 and outcome_of(r)["code"] == "too-long"
    assert service.nothing_kept()


def test_body_over_the_limit_is_refused_while_streaming(service):
    pulled = []

    async def chunks():
        for i in range(50):
            pulled.append(i)
            yield b"\x00" * 512

    r = service.request("POST", "/webhooks/scanner", content=chunks(), headers={
        "content-type": "model/stl", "webhook-id": "m", "webhook-timestamp": "0", "webhook-signature": "v1,AAAA"})
    assert r.status_code == 413
    assert len(pulled) < 10  # stopped after the limit (2048 bytes), not after reading all 25 KB
    assert service.nothing_kept()


def test_too_many_requests_per_source(service):
    codes = [service.webhook("scanner", STL, "model/stl", key=KEY_SMALL, msg_id=f"m{i}").status_code for i in range(3)]
    assert codes == [202, 202, 429]
    r = service.webhook("scanner", STL, "model/stl", key=KEY_SMALL, msg_id="m9")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and outcome_of(r)["code"] == "throttled"
    assert service.stored() == 2 and len(service.queued) == 2
    assert service.webhook("lab", STL, "model/stl", msg_id="other-source").status_code == 202  # per source
