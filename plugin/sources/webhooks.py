"""Standard Webhooks 1.0: verify `webhook-signature` over the RAW body bytes, never a decoded body.

Signed content: "{webhook-id}.{webhook-timestamp}." + body, HMAC-SHA256 with the key decoded from the
secret ("whsec_" + base64). `webhook-signature` is a space-separated list of "v1,<base64>" entries; one
matching entry under any active key of the source is enough (so a secret can rotate). The timestamp
(integer Unix seconds) must be within the tolerance of now, either way. Other signature versions
(e.g. v1a, asymmetric) are ignored. Failures are SourceRefused 401 with a message naming the header.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence

from plugin.errors import SourceRefused

ID_RE = re.compile(r"[\x21-\x7e]{1,256}")       # printable, no spaces; used as the idempotency key
MAX_SIGNATURE_HEADER = 4096


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The "v1,<base64>" signature of a body (what a sender puts in webhook-signature)."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(headers: Mapping[str, str], body: bytes, keys: Sequence[bytes], now: float, tolerance_s: int) -> str:
    """The webhook-id of a correctly signed, fresh request; SourceRefused(401) otherwise."""
    msg_id = _required(headers, "webhook-id")
    stamp = _required(headers, "webhook-timestamp")
    signatures = _required(headers, "webhook-signature")
    if not ID_RE.fullmatch(msg_id):
        raise _refused("webhook-id is not 1-256 printable characters without spaces")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise _refused("webhook-timestamp is not whole Unix seconds")
    if abs(now - int(stamp)) > tolerance_s:
        raise _refused(f"webhook-timestamp is more than {tolerance_s} s from the receiver's clock (stale or replayed)")
    if len(signatures) > MAX_SIGNATURE_HEADER:
        raise _refused("webhook-signature is too long")
    offered = _v1_signatures(signatures)
    signed = f"{msg_id}.{stamp}.".encode() + body
    for key in keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return msg_id
    raise _refused("webhook-signature does not match any active secret of this source")


def _v1_signatures(header: str) -> list[bytes]:
    found = []
    for entry in header.split():
        version, comma, value = entry.partition(",")
        if version != "v1" or not comma:
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise _refused(f"{name} header missing")
    return value.strip()


def _refused(message: str) -> SourceRefused:
    return SourceRefused(401, "security", message)
