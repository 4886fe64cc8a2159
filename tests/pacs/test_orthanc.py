"""Issue 8 with real parts: a real Orthanc running the shipped Lua script, the plugin's web app on a loopback port,
the pipeline's functions, and the real FHIR test server.

The example cases' DICOM Part 10 files go to Orthanc (REST POST /instances); their other files go in as events; the
ChargeItems at the FHIR server must equal `dwcoder suggest` on the same folder.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pydicom
import pytest
from sqlalchemy import select

from plugin import feed, pipeline
from plugin.coding import code_evidence
from plugin.ehr import FhirClient
from plugin.errors import PacsUnavailable
from plugin.reconcile import reconcile
from plugin.sources import pacs
from plugin.sources.config import secret_key
from plugin.sources.webhooks import sign
from plugin.store import Store
from plugin.store import evidence as ev_store
from plugin.store.models import DeadLetter, Event
from plugin.web.app import create_app
from tests.pacs.conftest import PASSWORD, SECRET, USER
from tests.pipeline.runner import CONTRACT, active, cli_items, drain, send_direct
from tests.store.databases import settings_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "orthognathic-planning"
EXAMPLE_PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"


def dicom_folders() -> list[tuple[Path, str]]:
    found = [(EXAMPLE, EXAMPLE_PRACTICE)]
    if CONTRACT.is_dir():
        for folder in sorted(CONTRACT.iterdir()):
            if any(folder.rglob("*.dcm")):
                found.append((folder, json.loads((folder / "expected.json").read_text())["practice"]))
    return found


FOLDERS = dicom_folders()


class Rig:
    """Orthanc + the plugin (web app + pipeline context) wired to each other."""

    def __init__(self, tmp_path, orthanc_factory, serve, practice: str, fhir_base_url: str = "",
                 dicomweb: str | None = None, stable_age: int = 1) -> None:
        self.orthanc = orthanc_factory(stable_age)
        spec = {"dicomweb": dicomweb or self.orthanc.dicomweb, "auth": "basic", "user": USER, "password": PASSWORD,
                "secrets": [SECRET], "orthanc": self.orthanc.url}
        extra = {"FHIR_BASE_URL": fhir_base_url} if fhir_base_url else {}
        self.settings = settings_for(f"sqlite:///{tmp_path / 'plugin.db'}", tmp_path, DWCODER_PRACTICE=practice,
                                     PACS=json.dumps({"office": spec}), **extra)
        self.ctx = pipeline.Context(self.settings, Store(self.settings.database_url))
        self.served = serve(create_app(self.settings, self.ctx.store, queue_event=lambda _id: None))
        self.orthanc.start({"DWCODER_PACS_URL": self.served.url + "/pacs/office/stable-study",
                            "DWCODER_PACS_SECRET": SECRET})

    def pacs_events(self) -> list[Event]:
        with self.ctx.store.sessions() as s:
            return list(s.scalars(select(Event).where(Event.kind == "pacs-study").order_by(Event.id)))

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.pacs_events()
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{count} pacs-study event(s) expected, {len(self.pacs_events())} stored")

    def upload_folder(self, folder: Path) -> int:
        """Upload every .dcm under the folder; returns the number of studies."""
        studies = set()
        for path in sorted(folder.rglob("*.dcm")):
            self.orthanc.upload(path)
            studies.add(str(pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID))
        return len(studies)

    def send_rest(self, folder: Path) -> None:
        send_direct(self.ctx, [e for e in feed.folder_events(folder) if e.kind != "dicom-file"])

    def notify(self, study: str, version: str) -> httpx.Response:
        body = json.dumps({"study": study, "version": version}).encode()
        stamp, msg_id = int(time.time()), f"test-{study}-{version}"[:200].replace(" ", "")
        headers = {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(stamp),
                   "webhook-signature": sign(secret_key(SECRET), msg_id, stamp, body)}
        return httpx.post(self.served.url + "/pacs/office/stable-study", content=body, headers=headers, timeout=10)


@pytest.mark.parametrize("folder,practice", FOLDERS, ids=[f.name for f, _ in FOLDERS])
def test_orthanc_notification_gives_the_cli_chargeitems(folder, practice, tmp_path, orthanc_factory, serve,
                                                        fhir_base_url):
    rig = Rig(tmp_path, orthanc_factory, serve, practice, fhir_base_url)
    rig.send_rest(folder)
    studies = rig.upload_folder(folder)
    events = rig.wait_for(studies)  # posted by the Lua script, signature checked by the route
    assert {e.source for e in events} == {"pacs:office"}
    drain(rig.ctx)
    got = active(FhirClient(fhir_base_url).search("ChargeItem", {}))
    assert got == cli_items(folder, practice)
    assert got, "the case has lines to post"
    with rig.ctx.store.sessions() as s:
        stored = [r.data for r in s.scalars(select(ev_store.Evidence).where(ev_store.Evidence.kind == "dicom-json"))]
    assert stored and not any(b"BulkDataURI" in data or b"InlineBinary" in data for data in stored)


def test_missed_notification_is_reconciled_without_duplicate(tmp_path, orthanc_factory, serve, fhir_base_url):
    rig = Rig(tmp_path, orthanc_factory, serve, EXAMPLE_PRACTICE, fhir_base_url)
    rig.send_rest(EXAMPLE)
    rig.served.drop = True  # the plugin is unreachable when Orthanc notifies: the notification is lost
    rig.upload_folder(EXAMPLE)
    deadline = time.monotonic() + 15
    while rig.served.seen == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rig.served.seen >= 1 and rig.pacs_events() == []
    rig.served.drop = False
    assert reconcile(rig.ctx, fhir=False) == {"queued": 1, "duplicates": 0}
    drain(rig.ctx)
    assert active(FhirClient(fhir_base_url).search("ChargeItem", {})) == cli_items(EXAMPLE, EXAMPLE_PRACTICE)
    assert reconcile(rig.ctx, fhir=False) == {"queued": 0, "duplicates": 0}  # saved position: nothing new
    assert reconcile(rig.ctx, since=pipeline.datetime(2000, 1, 1, tzinfo=pipeline.timezone.utc),
                     fhir=False) == {"queued": 0, "duplicates": 1}  # walked again: the same key
    study = json.loads(rig.pacs_events()[0].body)
    late = rig.notify(study["study"], study["version"])  # the notification arriving after all
    assert late.status_code == 200 and late.json()["accepted"][0]["duplicate"] is True
    assert len(rig.pacs_events()) == 1


def test_pacs_answering_500_then_recovering(tmp_path, orthanc_factory, serve):
    """A loopback proxy in front of Orthanc's DICOMweb fails the first 3 requests with 500."""
    failures = {"left": 3}
    rig_holder: dict = {}

    async def proxy(scope, receive, send):
        if failures["left"] > 0:
            failures["left"] -= 1
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b"down"})
            return
        orthanc = rig_holder["rig"].orthanc
        url = orthanc.dicomweb + scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        async with httpx.AsyncClient(auth=(USER, PASSWORD)) as client:
            r = await client.get(url, headers={"accept": "application/dicom+json"})
        await send({"type": "http.response.start", "status": r.status_code,
                    "headers": [(b"content-type", r.headers.get("content-type", "").encode())]})
        await send({"type": "http.response.body", "body": r.content})

    front = serve(proxy)
    rig = rig_holder["rig"] = Rig(tmp_path, orthanc_factory, serve, EXAMPLE_PRACTICE, dicomweb=front.url)
    rig.send_rest(EXAMPLE)
    rig.upload_folder(EXAMPLE)
    event = rig.wait_for(1)[0]
    for attempt in range(3):
        with pytest.raises(PacsUnavailable, match="answered 500"):
            pipeline.process_event(rig.ctx, event.id)
        with rig.ctx.store.sessions() as s:
            row = s.get(Event, event.id)
            assert (row.status, row.attempts, row.last_error) == ("queued", attempt + 1, "PacsUnavailable")
        assert 0.1 <= pipeline.backoff_s(attempt) <= 2 ** attempt
    assert pipeline.process_event(rig.ctx, event.id) == "done"
    drain(rig.ctx)
    from tests.pipeline.runner import local_items
    assert active(local_items(rig.ctx)) == cli_items(EXAMPLE, EXAMPLE_PRACTICE)


def test_study_lacking_tags_is_named_in_skipped(tmp_path, orthanc_factory, serve):
    rig = Rig(tmp_path, orthanc_factory, serve, EXAMPLE_PRACTICE)
    rig.send_rest(EXAMPLE)
    broken = tmp_path / "no-modality"
    broken.mkdir()
    for path in sorted((EXAMPLE / "cbct").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        del ds.Modality
        ds.save_as(broken / path.name)
    rig.upload_folder(broken)
    event = rig.wait_for(1)[0]
    assert pipeline.process_event(rig.ctx, event.id) == "done"
    patient_id = str(pydicom.dcmread(next(broken.glob("*.dcm"))).PatientID)
    with rig.ctx.store.sessions() as s:
        group, _ = ev_store.group_of_patient_id(s, patient_id)
        read = ev_store.read_group(s, group)
    suggestions = code_evidence(read, EXAMPLE_PRACTICE, None, ())
    skipped = [item for x in suggestions for item in x.skipped]
    assert any(item["reason"] == "InvalidDicom" and "missing Modality" in item["message"] for item in skipped)
    assert len(skipped) == 1  # the series is named once, not once per instance


def test_notification_for_a_study_the_pacs_lacks_is_dead_lettered(tmp_path, orthanc_factory, serve):
    rig = Rig(tmp_path, orthanc_factory, serve, EXAMPLE_PRACTICE)
    answer = rig.notify("1.2.826.0.1.3680043.8.498.999999", "v1")
    assert answer.status_code == 202
    event = rig.pacs_events()[0]
    assert pipeline.process_event(rig.ctx, event.id) == "dead"
    with rig.ctx.store.sessions() as s:
        letter = s.scalar(select(DeadLetter).where(DeadLetter.event_id == event.id))
    assert letter.reason == "StudyNotFound" and "does not have this study" in letter.message
    assert "1.2.826.0.1.3680043.8.498.999999" not in letter.message


def test_unsigned_or_unknown_pacs_notification_is_refused(tmp_path, orthanc_factory, serve):
    rig = Rig(tmp_path, orthanc_factory, serve, EXAMPLE_PRACTICE)
    body = b'{"study": "1.2.3"}'
    r = httpx.post(rig.served.url + "/pacs/office/stable-study", content=body,
                   headers={"content-type": "application/json", "webhook-id": "x", "webhook-timestamp": str(int(time.time())),
                            "webhook-signature": "v1,AAAA"})
    assert r.status_code == 401 and "does not match" in r.text
    r = httpx.post(rig.served.url + "/pacs/elsewhere/stable-study", content=body)
    assert r.status_code == 401 and "unknown PACS" in r.text
    assert rig.notify("not-a-uid", "1").status_code == 422
    assert rig.pacs_events() == []


@pytest.mark.parametrize("message", [b"", b"abc", b"x" * 55, b"y" * 56, b"z" * 64, bytes(range(256)) * 3])
def test_lua_sha256_hmac_and_base64_match_python(message, tmp_path, orthanc_factory):
    import base64
    import hashlib
    import hmac

    orthanc = orthanc_factory().start({})
    text = message.decode("latin-1")
    literal = "".join(f"\\{b}" for b in message)
    out = orthanc.lua(f'local M = DwcoderNotify; local m = "{literal}"; '
                      'print(M.b64encode(M.sha256(m))); print(M.b64encode(M.hmac_sha256(m .. m, "k" .. m)));'
                      'print(M.b64decode(M.b64encode(m)) == m)').split()
    assert out[0] == base64.b64encode(hashlib.sha256(message).digest()).decode()
    assert out[1] == base64.b64encode(hmac.new(message * 2, b"k" + message, hashlib.sha256).digest()).decode()
    assert out[2] == "true"
    assert text is not None


def test_lua_headers_verify_with_the_plugin(tmp_path, orthanc_factory):
    from plugin.sources.webhooks import verify

    orthanc = orthanc_factory().start({})
    out = orthanc.lua(f'local h = DwcoderNotify.headers("{SECRET}", "orthanc-1", 1700000000, "{{}}"); '
                      'print(h["webhook-signature"])').strip()
    headers = {"webhook-id": "orthanc-1", "webhook-timestamp": "1700000000", "webhook-signature": out}
    assert verify(headers, b"{}", [secret_key(SECRET)], 1700000000, 300) == "orthanc-1"
