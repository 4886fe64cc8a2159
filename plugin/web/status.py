"""GET /healthz: liveness. The process answers; nothing else is checked, so a database or FHIR server that is
down never makes an orchestrator restart a healthy process (that is /readyz's job, plugin/web/ops.py)."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "up"})
