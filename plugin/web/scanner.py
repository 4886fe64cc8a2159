"""GET /scanner/unmatched: the scanner exports held because they cannot be linked to one patient (issue 8).

The practice reads it to fix a name or add a sidecar; file names may hold patient identifiers, so the answer
is for the practice's own network (like the embedded ChargeItem store) and nothing of it is logged.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from plugin.store import scanner as table
from plugin.web.intake import in_store


def _rows(store) -> list[dict]:
    with store.sessions() as s:
        return [table.as_dict(r) for r in table.unmatched(s)]


async def unmatched_files(request: Request) -> JSONResponse:
    rows = await in_store(_rows, request.app.state.service.store)
    return JSONResponse({"unmatched": rows, "count": len(rows)})
