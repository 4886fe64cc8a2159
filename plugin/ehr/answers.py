"""How the FHIR server's answers (and failures to answer) become the plugin's errors: EhrUnavailable (retried)
or EhrRefused (not retried), with messages that name the request kind and the status, never a URL or a value."""
from __future__ import annotations

import email.utils
import time

import httpx

from plugin.errors import EhrRefused, EhrUnavailable

MAX_ISSUES = 5
MAX_ISSUE_TEXT = 200


def unreachable(what: str, exc: Exception) -> EhrUnavailable:
    if isinstance(exc, httpx.TimeoutException):
        return EhrUnavailable(f"{what}: the FHIR server timed out ({type(exc).__name__})")
    return EhrUnavailable(f"{what}: the FHIR server is unreachable ({type(exc).__name__})")


def unavailable(what: str, response: httpx.Response) -> EhrUnavailable:
    status = response.status_code
    return EhrUnavailable(f"{what}: the FHIR server answered {status}", status, retry_after(response))


def refused(what: str, response: httpx.Response) -> EhrRefused:
    status = response.status_code
    issues = outcome_issues(response)
    detail = "; ".join(f"{expr}: {text}" if expr else text or code for code, expr, text in issues)
    if 300 <= status < 400:
        detail = detail or "a redirect (not followed)"
    message = f"{what}: the FHIR server refused it ({status})" + (f": {detail}" if detail else "")
    return EhrRefused(message, status, issues)


def outcome_issues(response: httpx.Response) -> tuple[tuple[str, str, str], ...]:
    """(code, expression, text) of the first issues of an OperationOutcome body, texts shortened."""
    try:
        body = response.json()
    except ValueError:
        return ()
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return ()
    out = []
    for issue in (body.get("issue") or [])[:MAX_ISSUES]:
        if not isinstance(issue, dict):
            continue
        details = issue.get("details") if isinstance(issue.get("details"), dict) else {}
        text = str(details.get("text") or issue.get("diagnostics") or "")[:MAX_ISSUE_TEXT]
        paths = issue.get("expression") or issue.get("location") or []
        expr = ", ".join(str(p) for p in paths[:3]) if isinstance(paths, list) else ""
        out.append((str(issue.get("code", "")), expr, text))
    return tuple(out)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
