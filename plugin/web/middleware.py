"""Per request: a correlation id (X-Correlation-ID if it is a plain token, else a new one), echoed in the
answer; one access log line (method, route, status, milliseconds, correlation id; never a query string,
header value or body); an unexpected error becomes a 500 OperationOutcome and a log line naming its class.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from plugin.web.problems import internal_error

log = logging.getLogger("dwcoder.web")
_TOKEN_RE = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
HEADER = "x-correlation-id"


def correlation_id(scope) -> str:
    return scope.setdefault("state", {}).get("correlation_id", "")


class RequestMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope.get("headers") or []).get(HEADER.encode(), b"").decode("latin-1")
        cid = offered if _TOKEN_RE.fullmatch(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["correlation_id"] = cid
        started = time.perf_counter()
        status = {"code": 0}

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(HEADER.encode(), cid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # anything not refused on purpose: no message echoed (it may hold data)
            log.error("unexpected %s on %s %s [%s]", type(exc).__name__, scope["method"], _route(scope), cid,
                      extra={"fields": {"correlation_id": cid, "error": type(exc).__name__}})
            if not status["code"]:
                await internal_error()(scope, receive, send_with_id)
        finally:
            ms = round((time.perf_counter() - started) * 1000, 1)
            log.info("%s %s %s %.1fms [%s]", scope["method"], _route(scope), status["code"], ms, cid,
                     extra={"fields": {"correlation_id": cid, "method": scope["method"], "route": _route(scope),
                                       "status": status["code"], "ms": ms}})


def _route(scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or scope.get("path", "")
