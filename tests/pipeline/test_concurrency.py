"""Two workers on one case at once: the per-case lock makes them take turns; every line is posted once."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from plugin import feed, pipeline
from plugin.store import Store
from plugin.store.cases import mark_dirty
from plugin.store.models import Posting
from tests.pipeline.runner import ROOT, active, cli_items, local_items, send_direct
from tests.store.databases import empty, settings_for

EXAMPLE = ROOT / "examples" / "orthognathic-planning"
PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"


def test_two_threads_recomputing_one_case(database_url, tmp_path):
    settings = settings_for(database_url, tmp_path, DWCODER_PRACTICE=PRACTICE)
    ctx = pipeline.Context(settings, Store(database_url))
    empty(ctx.store)
    send_direct(ctx, feed.folder_events(EXAMPLE))
    pipeline.recompute_case(ctx, "Patient/pt")
    before = _upserts(ctx)
    results: list[str] = []
    for _ in range(3):  # several rounds: the race window is small
        with ctx.store.transaction() as s:
            mark_dirty(s, "Patient/pt")
        barrier = threading.Barrier(2)

        def worker() -> None:
            barrier.wait(10)
            results.append(pipeline.recompute_case(ctx, "Patient/pt"))

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
    want = cli_items(EXAMPLE, PRACTICE)
    assert active(local_items(ctx)) == want
    assert len(local_items(ctx)) == len(want)  # no twin ChargeItem
    assert _upserts(ctx) == before  # nothing changed, so nothing was posted again
    assert results.count("recomputed") == 3 and results.count("clean") == 3
    ctx.store.dispose()


def _upserts(ctx) -> int:
    with ctx.store.sessions() as s:
        return s.scalar(select(func.count()).select_from(Posting).where(Posting.action == "upsert"))
