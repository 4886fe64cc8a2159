"""`dwcoder dead-letters list|show|replay` on a real store (settings from the environment)."""
from __future__ import annotations

import pytest

from plugin import cli, pipeline
from plugin import context as context_module
from plugin.store.events import EventIn, accept
from tests.store.databases import settings_for


@pytest.fixture
def env(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DWCODER_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no .env from elsewhere
    ctx = pipeline.Context(settings_for(database_url, tmp_path), pipeline.Store(database_url))
    from tests.store.databases import empty

    empty(ctx.store)
    [bad] = accept(ctx.store, [EventIn("webhook:lab", "fhir", "k1", "application/fhir+json", b'{"name": "Doe"')])
    pipeline.process_event(ctx, bad.event_id)
    yield bad.event_id
    ctx.store.dispose()
    context_module._CONTEXT.clear()


def test_list_show_replay(env, capsys):
    event_id = env
    assert cli.main(["dead-letters", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{event_id:>7}" in out and "MalformedJSON" in out and "webhook:lab" in out
    assert cli.main(["dead-letters", "show", str(event_id)]) == 0
    out = capsys.readouterr().out
    assert "reason: MalformedJSON" in out and "Doe" not in out  # never the body
    assert cli.main(["dead-letters", "show", "999"]) == 1
    assert cli.main(["dead-letters", "replay", str(event_id)]) == 0
    assert "replayed 1 event(s)" in capsys.readouterr().out
    assert cli.main(["dead-letters", "replay", str(event_id)]) == 1  # not a dead letter any more
    assert cli.main(["dead-letters", "list"]) == 0
    assert "no dead letters" in capsys.readouterr().out
