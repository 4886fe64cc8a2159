"""Readiness: can this process reach what it needs? Each check has a short timeout and answers "ok",
"embedded" (not configured: the built-in part is used) or "down: <error class>" (never a URL, host name,
password or message text, which may hold secrets).

    check_all(settings, store) -> {"database": "ok", "redis": "down: TimeoutError", "fhir": "embedded"}

Used by GET /readyz (plugin/web/ops.py) and `dwcoder health` (the container health check of worker and beat).
The FHIR check asks for the CapabilityStatement (GET [base]/metadata) without credentials: any answer below 500
means the server is up (401/403 included); `dwcoder doctor` is the thorough, authenticated check.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable

CHECKS = ("database", "redis", "fhir")
TIMEOUT_S = 2.0


def check_database(settings, store=None) -> str:
    from sqlalchemy import text

    own = store is None
    if own:
        from plugin.store import Store

        store = Store(settings.database_url, migrate=False)
    try:
        with store.engine.connect() as conn:
            if store.kind == "postgresql":
                conn.execute(text(f"SET LOCAL statement_timeout = {int(TIMEOUT_S * 1000)}"))
            conn.execute(text("SELECT 1"))
        return "ok"
    finally:
        if own:
            store.dispose()


def check_redis(settings, store=None) -> str:
    if not settings.redis_url:
        return "embedded"
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
    try:
        client.ping()
        return "ok"
    finally:
        client.close()


def check_fhir(settings, store=None) -> str:
    if not settings.fhir_base_url:
        return "embedded"
    import httpx

    answer = httpx.get(f"{settings.fhir_base_url}/metadata", timeout=TIMEOUT_S, follow_redirects=False,
                       headers={"Accept": "application/fhir+json"})
    return "ok" if answer.status_code < 500 else f"down: HTTP {answer.status_code}"


RUNNERS: dict[str, Callable] = {"database": check_database, "redis": check_redis, "fhir": check_fhir}


def check_all(settings, store=None, checks: tuple[str, ...] = CHECKS) -> dict[str, str]:
    """Run the checks at once, each bounded by its own timeout (and all by 2 x TIMEOUT_S + 1 s)."""
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="dwcoder-ready")
    futures = {name: pool.submit(_safe, RUNNERS[name], settings, store) for name in checks}
    wait(futures.values(), timeout=2 * TIMEOUT_S + 1)
    pool.shutdown(wait=False, cancel_futures=True)
    return {name: (f.result() if f.done() else "down: TimeoutError") for name, f in futures.items()}


def _safe(run: Callable, settings, store) -> str:
    try:
        return run(settings, store)
    except Exception as exc:  # the class only: messages may name hosts, users or URLs
        return f"down: {type(exc).__name__}"


def ready(results: dict[str, str], ignore: tuple[str, ...] = ()) -> bool:
    return all(not value.startswith("down") for name, value in results.items() if name not in ignore)
