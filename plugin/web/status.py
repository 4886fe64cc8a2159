"""GET /healthz: the process answers and the database can be read."""
from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from plugin.web.intake import in_store


async def healthz(request: Request) -> JSONResponse:
    await in_store(_ping, request.app.state.service.store)
    return JSONResponse({"status": "up"})


def _ping(store) -> None:
    with store.sessions() as session:
        session.execute(text("SELECT 1"))
