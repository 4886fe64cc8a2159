"""Helpers the pipeline tests share: a case folder through the pipeline's functions, and what
`dwcoder suggest --format fhir` gives for the same folder."""
from __future__ import annotations

import contextlib
import io
import json
import random
from dataclasses import replace
from pathlib import Path

from plugin import cli, feed, pipeline
from plugin.store import chargeitems
from plugin.store.events import EventIn, accept

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT.parent / "shared" / "contract" / "cases"
OWN_CASES = ROOT / "tests" / "cases"


def case_folders() -> list[Path]:
    found = sorted(p for p in OWN_CASES.iterdir() if (p / "expected.json").is_file())
    if CONTRACT.is_dir():
        found = sorted(p for p in CONTRACT.iterdir() if (p / "expected.json").is_file()) + found
    return found


def practice_of(folder: Path) -> str:
    return json.loads((folder / "expected.json").read_text()).get("practice", "")


def cli_items(folder: Path, practice: str, version: str = "R4") -> list[dict]:
    """The ChargeItems of `dwcoder suggest FOLDER --format fhir --practice P` (run in this process)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["suggest", str(folder), "--format", "fhir", "--practice", practice, "--fhir-version", version])
    assert code in (0, 1), f"dwcoder suggest failed on {folder.name}"
    text = out.getvalue().strip()
    entries = json.loads(text).get("entry", []) if text else []
    return sorted((e["resource"] for e in entries), key=_ident)


def _ident(item: dict) -> str:
    return item["identifier"][0]["value"]


def strip(item: dict) -> dict:
    return {k: v for k, v in item.items() if k not in ("id", "meta")}


def active(items: list[dict]) -> list[dict]:
    return sorted((strip(i) for i in items if i.get("status") != "entered-in-error"), key=_ident)


def local_items(ctx) -> list[dict]:
    return chargeitems.search(ctx.store)


def messy(events: list[EventIn], seed: int, copies: int = 2) -> list[EventIn]:
    """Every event `copies` times with its own key (a redelivery) plus once under a new key (the same content
    from another channel), shuffled."""
    out = [e for e in events for _ in range(copies)]
    out += [replace(e, dedup_key=e.dedup_key + "#again") for e in events]
    random.Random(seed).shuffle(out)
    return out


def drain(ctx, max_rounds: int = 50) -> None:
    """Process every queued event, then recompute every dirty case, until nothing is left (bounded)."""
    from sqlalchemy import select

    from plugin.store.models import Case, Event

    for _ in range(max_rounds):
        with ctx.store.sessions() as s:
            queued = list(s.scalars(select(Event.id).where(Event.status.in_(("queued", "processing"))).order_by(Event.id)))
            dirty = list(s.scalars(select(Case.key).where(Case.dirty.is_(True)).order_by(Case.key)))
        if not queued and not dirty:
            return
        for event_id in queued:
            pipeline.process_event(ctx, event_id)
        for key in dirty:
            pipeline.recompute_case(ctx, key)
    raise AssertionError(f"not settled after {max_rounds} rounds")


def send_direct(ctx, events: list[EventIn], batch: int = 1) -> None:
    """Accept the events in the given order (and process each at once, as a fast worker would)."""
    for i in range(0, len(events), batch):
        for item in accept(ctx.store, events[i:i + batch]):
            if not item.duplicate:
                pipeline.process_event(ctx, item.event_id)
