"""Jinja2 templates (plugin/web/templates/review/) rendered to HTML responses, and the static files.

Autoescaping is on; every page gets the user, the CSRF token for its forms, and security headers (no-store,
a Content-Security-Policy that allows only our own scripts)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from plugin.errors import SourceRefused
from plugin.web.auth import csrf_token, current_user

WEB = Path(__file__).resolve().parents[1]
STATIC = WEB / "static"
_ENV = Environment(loader=FileSystemLoader(str(WEB / "templates")), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)


def _summary(d: dict) -> str:
    """A line's snapshot in the audit log, in a few words: "approved D0367-26 x1 (v2)"."""
    if not d:
        return "–"
    code = "-".join([d.get("code", "")] + list(d.get("modifiers") or []))
    status = f" → {d['status']}" if d.get("status") else ""
    return f"{d.get('state', '')} {code} ×{d.get('quantity', '')} (v{d.get('version', '')}){status}".strip()


_ENV.filters["fromjson"] = lambda text: json.loads(text or "{}")
_ENV.filters["summary"] = _summary
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "X-Frame-Options": "DENY",
           "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                      "script-src 'self'; frame-ancestors 'none'; form-action 'self'"}
_STATIC_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,60}\.(js|css|png)")
_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "png": "image/png"}


async def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    user = await current_user(request)
    html = _ENV.get_template(template).render(user=user, csrf=await csrf_token(request), request=request, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    path = STATIC / name
    if not _STATIC_NAME.fullmatch(name) or not path.is_file():
        raise SourceRefused(404, "not-found", "no such file")
    return FileResponse(path, media_type=_TYPES[name.rsplit(".", 1)[1]],
                        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
