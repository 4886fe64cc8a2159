"""Property: any order of a case's events, with any of them repeated, ends with the CLI's ChargeItems."""
from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings, strategies as st

from plugin import feed, pipeline
from plugin.store import Store
from tests.pipeline.runner import ROOT, active, cli_items, drain, local_items, send_direct
from tests.store.databases import empty, settings_for

FOLDER = ROOT / "tests" / "cases" / "fusion-scan-to-cbct"
EVENTS = feed.folder_events(FOLDER)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(EVENTS))), repeats=st.lists(st.integers(0, len(EVENTS) - 1), max_size=6),
       batch=st.integers(1, 4))
def test_any_order_any_repeats(tmp_path_factory, order, repeats, batch):
    import json

    practice = json.loads((FOLDER / "expected.json").read_text()).get("practice", "")
    tmp = tmp_path_factory.mktemp("order")
    url = f"sqlite:///{tmp / 'db.sqlite'}"
    ctx = pipeline.Context(settings_for(url, tmp, DWCODER_PRACTICE=practice), Store(url))
    events = [EVENTS[i] for i in order] + [replace(EVENTS[i], dedup_key=f"{EVENTS[i].dedup_key}#{n}") for n, i in enumerate(repeats)]
    send_direct(ctx, events, batch=batch)
    drain(ctx)
    assert active(local_items(ctx)) == cli_items(FOLDER, practice)
    ctx.store.dispose()
