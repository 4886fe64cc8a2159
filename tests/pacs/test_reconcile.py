"""The reconciler's other sources: a DICOMweb PACS without Orthanc's /changes (QIDO-RS by StudyDate), the FHIR
server (_lastUpdated since the last run), `dwcoder reconcile`, and a study sent by another AE title."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from pydicom.uid import generate_uid
from sqlalchemy import select

from plugin import cli, pipeline
from plugin.ehr import FhirClient
from plugin.reconcile import reconcile
from plugin.store import Store
from plugin.store import evidence as ev_store
from plugin.store.models import Event
from tests.factories.dicom import write_series
from tests.pacs.conftest import PASSWORD, USER
from tests.pipeline.runner import drain
from tests.store.databases import settings_for

OCTOBER = datetime(2026, 10, 1, tzinfo=timezone.utc)  # tests/factories/dicom.py writes StudyDate 2026-10-14


def _ctx(tmp_path, **spec_extra):
    def make(orthanc, **env):
        spec = {"dicomweb": orthanc.dicomweb, "auth": "basic", "user": USER, "password": PASSWORD, **spec_extra}
        settings = settings_for(f"sqlite:///{tmp_path / 'plugin.db'}", tmp_path, PACS=json.dumps({"generic": spec}), **env)
        return pipeline.Context(settings, Store(settings.database_url))
    return make


def _events(ctx, kind):
    with ctx.store.sessions() as s:
        return list(s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_generic_dicomweb_by_study_date(tmp_path, orthanc_factory):
    orthanc = orthanc_factory().start({})
    study = generate_uid()
    for path in write_series(tmp_path / "cbct", slices=3, StudyInstanceUID=study):
        orthanc.upload(path)
    ctx = _ctx(tmp_path)(orthanc)
    assert reconcile(ctx, since=OCTOBER) == {"queued": 1, "duplicates": 0}
    event = _events(ctx, "pacs-study")[0]
    assert json.loads(event.body)["study"] == study and event.dedup_key == f"pacs:generic:{study}:n3"
    assert reconcile(ctx, since=OCTOBER) == {"queued": 0, "duplicates": 1}
    assert pipeline.process_event(ctx, event.id) == "done"
    with ctx.store.sessions() as s:
        rows = [(r.key, r.kind) for r in s.scalars(select(ev_store.Evidence))]
    assert len(rows) == 1 and rows[0][1] == "dicom-json" and rows[0][0].startswith("Series/")
    for path in write_series(tmp_path / "more", slices=1, StudyInstanceUID=study):
        orthanc.upload(path)  # a new series: a new version of the study, queued again
    assert reconcile(ctx, since=OCTOBER) == {"queued": 1, "duplicates": 0}


def test_a_series_notified_again_with_more_instances_is_replaced_whole(tmp_path, orthanc_factory):
    """60 instances (listed one by one), then 100 (read from the first and last): 100 counted, not 158."""
    from plugin.dicomweb import LIST_ALL_MAX

    orthanc = orthanc_factory().start({})
    study, series = generate_uid(), generate_uid()
    files = write_series(tmp_path / "cbct", slices=100, slice_spacing=0.5, StudyInstanceUID=study,
                         SeriesInstanceUID=series)
    ctx = _ctx(tmp_path)(orthanc)
    for count in (60, 100):
        for path in files[:count]:
            orthanc.upload(path)
        reconcile(ctx, since=OCTOBER)
        for event in _events(ctx, "pacs-study"):
            pipeline.process_event(ctx, event.id)
        with ctx.store.sessions() as s:
            read = ev_store.read_group(s, ev_store.group_of_patient_id(s, "TEST-0001")[0])
        [found] = read.evidence
        assert (found.instances, found.height_mm) == (count, count * 0.5)
    assert 60 <= LIST_ALL_MAX < 100


def test_a_study_from_another_ae_title_is_ignored(tmp_path, orthanc_factory):
    orthanc = orthanc_factory().start({})
    ctx = _ctx(tmp_path, ae_titles=["CBCT_OP1"])(orthanc)
    from plugin.store.events import EventIn, accept
    from plugin.sources import pacs

    body = pacs.event_body("generic", "1.2.3", "v1", "HOSPITAL_CT")
    [item] = accept(ctx.store, [EventIn("pacs:generic", "pacs-study", "k1", "application/json", body)])
    assert pipeline.process_event(ctx, item.event_id) == "done"  # nothing asked of the PACS: the study is not fetched
    with ctx.store.sessions() as s:
        assert s.scalar(select(ev_store.Evidence.key)) is None


def test_fhir_server_since_the_last_run(tmp_path, orthanc_factory, fhir_base_url):
    import httpx

    orthanc = orthanc_factory().start({})
    ctx = _ctx(tmp_path)(orthanc, FHIR_BASE_URL=fhir_base_url)
    patient = {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "MRN-RECON"}]}
    created = httpx.post(fhir_base_url + "/Patient", json=patient, timeout=10,
                         headers={"content-type": "application/fhir+json"})
    assert created.status_code == 201
    assert reconcile(ctx) == {"queued": 1, "duplicates": 0}
    [requery] = _events(ctx, "requery")
    spec = json.loads(requery.body)
    assert spec["types"] == ["Patient", "Encounter", "Procedure", "ImagingStudy"] and spec["since"] is None
    drain(ctx)
    with ctx.store.sessions() as s:
        keys = list(s.scalars(select(ev_store.Evidence.key)))
    assert keys == [f"Patient/{created.json()['id']}"]  # read from the FHIR server, never notified
    reconcile(ctx)
    second = _events(ctx, "requery")[-1]
    assert json.loads(second.body)["since"] is not None  # the next run asks from the last one (less an overlap)


def test_reconcile_command(tmp_path, orthanc_factory, monkeypatch, capsys):
    orthanc = orthanc_factory().start({})
    for path in write_series(tmp_path / "cbct", slices=2):
        orthanc.upload(path)
    spec = {"dicomweb": orthanc.dicomweb, "auth": "basic", "user": USER, "password": PASSWORD}
    monkeypatch.setenv("DWCODER_HOME", str(tmp_path))
    monkeypatch.setenv("PACS", json.dumps({"generic": spec}))
    monkeypatch.delenv("FHIR_BASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["reconcile", "--since", "2026-10-01"]) == 0
    assert "queued 1 event(s); 0 already seen" in capsys.readouterr().out
    assert cli.main(["reconcile", "--since", "2026-10-01"]) == 0
    assert "queued 0 event(s); 1 already seen" in capsys.readouterr().out
    assert cli.main(["reconcile", "--since", "last tuesday"]) == 2
    assert "expected an ISO date or instant" in capsys.readouterr().err
    orthanc.stop()
    assert cli.main(["reconcile", "--since", "2026-10-01"]) == 1
    assert "PacsUnavailable" in capsys.readouterr().err


def test_one_pacs_down_does_not_stop_the_others(tmp_path, orthanc_factory):
    from plugin.errors import PacsUnavailable

    orthanc = orthanc_factory().start({})
    for path in write_series(tmp_path / "cbct", slices=2):
        orthanc.upload(path)
    good = {"dicomweb": orthanc.dicomweb, "auth": "basic", "user": USER, "password": PASSWORD}
    down = {"dicomweb": "http://127.0.0.1:9/dicom-web", "timeout_s": 2}
    settings = settings_for(f"sqlite:///{tmp_path / 'plugin.db'}", tmp_path,
                            PACS=json.dumps({"a-down": down, "b-good": good}))
    ctx = pipeline.Context(settings, Store(settings.database_url))
    with pytest.raises(PacsUnavailable, match="cannot reach the PACS"):
        reconcile(ctx, since=OCTOBER)
    assert [e.source for e in _events(ctx, "pacs-study")] == ["pacs:b-good"]
