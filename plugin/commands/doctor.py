"""`dwcoder doctor`: check the settings and each configured connection; say exactly what is wrong.

Checks, in order: settings (every variable), the database (connect, migrate), the queue (Redis PING, or the
local queue), the FHIR server (one ChargeItem read through the client, with its auth), each configured PACS
(QIDO-RS studies?limit=1 with its auth, and Orthanc's /system when the entry names it), the mappings. Exit 0 when all
pass, 1 otherwise. Passwords and tokens are never printed.
"""
from __future__ import annotations

import argparse
from typing import Callable

from plugin.errors import CoderError


def register(sub) -> None:
    d = sub.add_parser("doctor", help="check the settings and each configured connection")
    d.set_defaults(run=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    return 0 if all(ok for _, ok, _ in run_checks()) else 1


def run_checks(env=None, out: Callable[[str], None] = print) -> list[tuple[str, bool, str]]:
    from plugin.settings import Settings

    results: list[tuple[str, bool, str]] = []

    def report(name: str, ok: bool, detail: str) -> None:
        results.append((name, ok, detail))
        out(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")

    try:
        settings = Settings.from_env(env) if env is not None else Settings.from_env()
    except CoderError as exc:
        report("settings", False, str(exc))
        return results
    report("settings", True, "all variables valid")
    store = _check_database(settings, report)
    _check_queue(settings, report)
    _check_fhir(settings, report)
    _check_pacs(settings, report)  # issue 8
    _check_mappings(settings, report)
    _check_signin(settings, store, report)  # issue 9
    if store is not None:
        store.dispose()
    return results


def _check_database(settings, report):
    from sqlalchemy import text

    from plugin.store import Store

    try:
        store = Store.from_settings(settings, migrate=False)
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        store.migrate()
        report("database", True, f"{store.describe()} reachable, migrated to the latest schema")
        return store
    except Exception as exc:  # every failure is reported, not raised
        report("database", False, f"{_db_name(settings)}: {_reason(exc)}")
        return None


def _check_queue(settings, report) -> None:
    if settings.embedded_queue:
        report("queue", True, "REDIS_URL unset: `dwcoder serve` runs its own local queue (no Celery workers needed)")
        return
    try:
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        policy = client.config_get("appendonly").get("appendonly", "?") if _may_config(client) else "?"
        note = "" if policy in ("yes", "?") else " (appendonly is off: a Redis restart empties the queue; the sweeper re-queues from the database)"
        report("queue", True, f"Redis at {_redis_name(settings)} answers PING{note}")
    except Exception as exc:
        report("queue", False, f"Redis at {_redis_name(settings)}: {_reason(exc)}")


def _may_config(client) -> bool:
    try:
        client.config_get("appendonly")
        return True
    except Exception:
        return False


def _check_fhir(settings, report) -> None:
    if settings.embedded_ehr:
        report("FHIR server", True, "FHIR_BASE_URL unset: ChargeItems are kept in the embedded store (/fhir/ChargeItem)")
        return
    try:
        from plugin.ehr import client_from_settings

        client = client_from_settings(settings)
        client.read("ChargeItem/dwcoder-doctor-probe")  # one request: 404 is fine, 401/403/5xx/no answer is not
        report("FHIR server", True, f"{settings.fhir_base_url} answers a ChargeItem read "
                                    f"(auth {settings.fhir_auth}, FHIR {settings.fhir_version})")
    except Exception as exc:
        report("FHIR server", False, f"{settings.fhir_base_url}: {_reason(exc)}")


def _check_pacs(settings, report) -> None:
    """issue 8: each configured PACS, read with its own auth (plugin.sources.pacs_probe); none configured, no line."""
    from plugin.sources.pacs_probe import probe

    for name, config in sorted((settings.pacs or {}).items()):
        ok, detail = probe(config)
        report(f"PACS {name}", ok, detail)


def _check_mappings(settings, report) -> None:
    from plugin import mappings

    try:
        loaded = mappings.load(settings.mappings)
        report("mappings", True, f"{loaded.version}: {len(loaded.rules)} rules")
    except CoderError as exc:
        report("mappings", False, str(exc))


def _check_signin(settings, store, report) -> None:
    """issue 9: who can sign in: password users in the database, and/or the OpenID Connect provider's discovery."""
    parts, ok = [], True
    if settings.login in ("password", "both") and store is not None:
        from plugin.web.auth.users import list_users

        active = [u for u, kind, disabled in list_users(store) if kind == "password" and not disabled]
        parts.append(f"{len(active)} password user(s)" if active else
                     "no password user yet (add one: dwcoder users add NAME --practice 'SYSTEM|VALUE')")
    if settings.login in ("oidc", "both"):
        import asyncio

        from plugin.web.auth import oidc

        try:
            asyncio.run(oidc.discovery(settings.oidc_issuer))
            parts.append(f"OpenID Connect provider {settings.oidc_issuer} answers discovery")
        except Exception as exc:
            ok = False
            parts.append(f"OpenID Connect provider {settings.oidc_issuer}: {_reason(exc)}")
    report("sign-in", ok, "; ".join(parts) or "database unavailable")


def _reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    return f"{type(orig).__name__}: {text[:300]}" if text else type(orig).__name__


def _db_name(settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def _redis_name(settings) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(settings.redis_url)
    return f"{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"
