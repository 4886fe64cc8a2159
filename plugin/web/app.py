"""create_app(settings): the ASGI app (Starlette) with its routes (routes.py) and its state.

The store is opened (and migrated) once; sources are read from Settings once, so a bad secret or rate
is a SettingsError at start. `clock` (Unix seconds) and `queue_event` (puts an event id on the queue) can be given for tests.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route as StarletteRoute

from plugin.sources.config import Sources, sources_from_settings
from plugin.sources.ratelimit import RateLimiter
from plugin.web.auth.access import guard
from plugin.web.middleware import RequestMiddleware
from plugin.web.problems import HANDLERS
from plugin.web.routes import ROUTES


@dataclass
class Service:
    settings: Any
    store: Any
    sources: Sources
    queue_event: Callable[[int], None]     # puts an event id on the queue
    clock: Callable[[], float] = time.time
    limiter: RateLimiter = field(default_factory=RateLimiter)


def create_app(settings, store=None, clock: Callable[[], float] = time.time,
               queue_event: Callable[[int], None] | None = None) -> RequestMiddleware:
    from plugin.store import Store

    service = Service(settings=settings, store=store or Store.from_settings(settings),
                      sources=sources_from_settings(settings), queue_event=queue_event or _queue(settings),
                      clock=clock)
    app = Starlette(routes=[StarletteRoute(r.path, guard(r), methods=[r.method]) for r in ROUTES],
                    exception_handlers=HANDLERS)
    app.state.service = service
    app.state.routes = ROUTES
    return RequestMiddleware(app)


def _queue(settings) -> Callable[[int], None]:
    from plugin import queue

    return lambda event_id: queue.enqueue(settings, queue.TASK_PROCESS_EVENT, event_id)


def uvicorn_config(app, host: str, port: int, log_level: str = "info"):
    """How the app is served: uvicorn's own access log is off (it would log query strings, which may hold
    patient data); middleware.py writes one line per request instead."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, access_log=False, server_header=False,
                          log_level=log_level.lower(), lifespan="off")
