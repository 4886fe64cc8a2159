"""`dwcoder reconcile [--since ISO]`: queue whatever the PACS and the FHIR server hold that the plugin has not
seen (plugin/reconcile.py). Without --since, from where the last run stopped. With REDIS_URL unset the events
wait in the database until `dwcoder serve` runs (its local queue picks up every queued event when it starts).
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone


def register(sub) -> None:
    r = sub.add_parser("reconcile", help="queue what the PACS and the FHIR server hold that the plugin has not seen")
    r.add_argument("--since", help="ISO date or instant (e.g. 2026-12-01 or 2026-12-01T08:00:00Z); default: the last run")
    r.set_defaults(run=_run)


def since_arg(text: str | None) -> datetime | None:
    """An ISO date or instant (naive means UTC); ValueError with the expected form otherwise."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: expected an ISO date or instant, e.g. 2026-12-01T08:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _run(args: argparse.Namespace) -> int:
    from plugin import pipeline, reconcile
    from plugin.errors import PipelineError
    from plugin.settings import Settings

    try:
        since = since_arg(args.since)
        counts = reconcile.reconcile(pipeline.context(Settings.from_env()), since)
    except ValueError as exc:
        print(f"dwcoder: {exc}", file=sys.stderr)
        return 2
    except PipelineError as exc:
        print(f"dwcoder: reconcile failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"queued {counts['queued']} event(s); {counts['duplicates']} already seen")
    return 0
