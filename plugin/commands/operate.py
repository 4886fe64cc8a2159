"""Commands for operating a deployment (issue 11):

    dwcoder migrate                    upgrade the database to the newest schema (Alembic), then exit: the
                                       compose `migrate` service and the Kubernetes Job run it before the rest
    dwcoder health [--url URL] [--checks database,redis,fhir]
                                       exit 0 when healthy: with --url, GET it (the api container's health check;
                                       the slim image has no curl); else run the readiness checks in this
                                       process's own configuration (beat's health check)
    dwcoder settings reference [--write PATH]
                                       the configuration reference (docs/configuration.md) from the code
    dwcoder code-sets check [BASE]     the yearly code sets: each loads, periods contiguous, rule ids registered,
                                       every code labelled (docs/code-sets.md)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub) -> None:
    m = sub.add_parser("migrate", help="upgrade the database schema (Alembic) and exit")
    m.set_defaults(run=_migrate)
    h = sub.add_parser("health", help="exit 0 when healthy (a container health check)")
    h.add_argument("--url", help="GET this URL (e.g. http://127.0.0.1:8000/healthz) instead of checking in-process")
    h.add_argument("--checks", default="database,redis", help="comma list of database, redis, fhir (default database,redis)")
    h.add_argument("--timeout", type=float, default=3.0)
    h.set_defaults(run=_health)
    s = sub.add_parser("settings", help="the settings")
    ssub = s.add_subparsers(required=True, dest="action")
    ref = ssub.add_parser("reference", help="print the configuration reference (Markdown) generated from the code")
    ref.add_argument("--write", metavar="PATH", help="write it to PATH instead (docs/configuration.md)")
    ref.set_defaults(run=_reference)
    c = sub.add_parser("code-sets", help="the yearly code sets under mappings/")
    csub = c.add_subparsers(required=True, dest="action")
    chk = csub.add_parser("check", help="check every year folder and their periods")
    chk.add_argument("base", nargs="?", help="base folder with <year>/ folders (default: the code sets in use)")
    chk.set_defaults(run=_code_sets)


def _migrate(args: argparse.Namespace) -> int:
    from plugin.settings import Settings
    from plugin.store import Store

    settings = Settings.from_env()
    store = Store.from_settings(settings, migrate=True)
    print(f"dwcoder: database {store.describe()} is at the newest schema", file=sys.stderr)
    store.dispose()
    return 0


def _health(args: argparse.Namespace) -> int:
    if args.url:
        import httpx

        try:
            status = httpx.get(args.url, timeout=args.timeout).status_code
        except httpx.HTTPError as exc:
            print(f"dwcoder: unhealthy: {type(exc).__name__}", file=sys.stderr)
            return 1
        print(f"dwcoder: HTTP {status}", file=sys.stderr)
        return 0 if status == 200 else 1
    from plugin import readiness
    from plugin.settings import Settings

    checks = tuple(c.strip() for c in args.checks.split(",") if c.strip())
    unknown = [c for c in checks if c not in readiness.CHECKS]
    if unknown:
        print(f"dwcoder: unknown check(s) {', '.join(unknown)}: expected {', '.join(readiness.CHECKS)}", file=sys.stderr)
        return 2
    results = readiness.check_all(Settings.from_env(), None, checks)
    print(json.dumps(results, sort_keys=True))
    return 0 if readiness.ready(results) else 1


def _reference(args: argparse.Namespace) -> int:
    from plugin.config_reference import markdown

    text = markdown()
    if args.write:
        Path(args.write).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _code_sets(args: argparse.Namespace) -> int:
    from plugin import code_sets, mappings

    base = Path(args.base) if args.base else mappings.BASE_DIR
    problems = code_sets.check_years(base)
    for problem in problems:
        print(f"dwcoder: {problem}", file=sys.stderr)
    if problems:
        return 1
    years = [p.name for p in code_sets.year_folders(base)]
    print(f"ok: {base}: code sets {', '.join(years)}: each loads, periods contiguous, rule ids registered, codes labelled")
    return 0
