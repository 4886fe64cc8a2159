"""Reading a request body under a size limit, counted while it streams (an oversized body is never held whole)."""
from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from plugin.errors import SourceRefused


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise SourceRefused(400, "incomplete", "the client went away before the body was complete") from None
    return b"".join(chunks)


def _too_large(limit: int) -> SourceRefused:
    return SourceRefused(413, "too-long", f"body is over this source's limit of {limit} bytes")
