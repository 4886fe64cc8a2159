"""Issue 8: Celery beat runs the reconciler every DWCODER_RECONCILE_EVERY_S (0: never); a subscription gap (a
"requery" event) queues the reconciler's PACS part."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plugin import pipeline, queue
from plugin.store import Store
from plugin.store.events import EventIn, accept
from tests.store.databases import settings_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("every,expected", [("120", "120.0"), ("0", "None")])
def test_beat_schedule(tmp_path, every, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PACS")}
    code = ("import workers.app as a, workers.tasks; s = a.app.conf.beat_schedule.get('reconcile'); "
            "print(s and float(s['schedule']), s and s['task'], 'dwcoder.reconcile' in a.app.tasks)")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={**env, "PYTHONPATH": str(ROOT), "REDIS_URL": "redis://127.0.0.1:6379/11",
                              "DWCODER_HOME": str(tmp_path), "DWCODER_RECONCILE_EVERY_S": every})
    assert run.returncode == 0, run.stderr
    want = f"{expected} dwcoder.reconcile True" if every != "0" else "None None True"
    assert run.stdout.strip() == want


def test_a_requery_queues_the_pacs_part_of_the_reconciler(tmp_path, fhir_base_url, monkeypatch):
    spec = {"office": {"dicomweb": "http://127.0.0.1:9/dicom-web"}}
    settings = settings_for(f"sqlite:///{tmp_path / 'p.db'}", tmp_path, FHIR_BASE_URL=fhir_base_url, PACS=json.dumps(spec))
    ctx = pipeline.Context(settings, Store(settings.database_url))
    sent = []
    monkeypatch.setattr(queue, "enqueue", lambda s, name, *args, countdown=0.0: sent.append((name, args)))
    body = json.dumps({"types": ["Procedure"], "since": None}).encode()
    [item] = accept(ctx.store, [EventIn("subscription:s1", "requery", "gap-1", "application/json", body)])
    assert pipeline.process_event(ctx, item.event_id) == "done"
    assert (queue.TASK_RECONCILE, ("pacs",)) in sent
    from plugin.errors import PacsUnavailable

    with pytest.raises(PacsUnavailable, match="cannot reach the PACS"):  # the task's run: the PACS part only
        pipeline.run_task(ctx, queue.TASK_RECONCILE, ("pacs",))
