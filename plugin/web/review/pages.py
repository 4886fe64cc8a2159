"""The reviewer pages (issue 9): queue, case, decisions, metrics, audit log. Server-rendered HTML; the
route rows (plugin/web/routes.py) give each the access "reviewer"; the guard there checks the session, the
role and, for POSTs, the CSRF token. Here: the practice a user may see (a case of another practice is
answered 404, as if absent), and the decision's own refusals (409 conflict, 422 refused) shown on the page.
"""
from __future__ import annotations

import csv
import io
import json

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from plugin.errors import Conflict, DecisionRefused, EhrError
from plugin.review import decisions, evidence, listing, metrics
from plugin.review.checks import reject_reasons
from plugin.web.auth import ALL_PRACTICES, check_can_see, current_user
from plugin.web.auth.refusals import NotVisible
from plugin.web.intake import in_store
from plugin.web.review import plots
from plugin.web.review.render import HEADERS, render

STATE_WORDS = {"pending": "to review", "approved": "approved", "rejected": "rejected", "edited": "edited and approved",
               "added": "added by hand", "changed": "evidence changed since the decision", "withdrawn": "withdrawn"}


def _ctx(request: Request):
    state = request.app.state
    ctx = getattr(state, "review_ctx", None)
    if ctx is None:
        from plugin.pipeline import Context

        service = state.service
        ctx = state.review_ctx = Context(service.settings, service.store)
    return ctx


def _practices(user) -> tuple[str, ...] | None:
    return None if user.practice == ALL_PRACTICES else (user.practice,)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


# ------------------------------------------------------------------------------------------ queue
async def queue_page(request: Request) -> Response:
    user = await current_user(request)
    filters = listing.Filters.of(request.query_params)
    cursor = request.query_params.get("after", "")[:80]
    page = await in_store(listing.queue_page, _ctx(request).store, filters, _practices(user), cursor)
    return await render(request, "review/queue.html", title="Queue", filters=filters, page=page, cursor=cursor,
                        state_words=STATE_WORDS)


# ------------------------------------------------------------------------------------------ one case
async def _visible_case(request: Request):
    """The case named in the path, as this user may see it (NotVisible otherwise: unknown or another practice's)."""
    user = await current_user(request)
    case_id = _int(request.path_params.get("case_id"))
    data = await in_store(listing.case_data, _ctx(request).store, case_id or 0, _practices(user)) if case_id else None
    if data is None:
        raise NotVisible()
    return data


async def case_page(request: Request, message: str = "", status: int = 200, focus: str = "") -> Response:
    ctx = _ctx(request)
    data = await _visible_case(request)
    described = await in_store(evidence.describe, ctx.store, data.case.group_key)
    lines = [_line_view(line, described) for line in data.lines]
    return await render(request, "review/case.html", status=status, title=f"Case {data.case.id}", data=data,
                        lines=lines, reasons=reject_reasons(ctx.settings), message=message,
                        focus=focus or request.query_params.get("line", ""), state_words=STATE_WORDS,
                        done=request.query_params.get("done", ""))


def _line_view(line, described: dict) -> dict:
    engine = json.loads(line.line or "{}")
    refs = list(engine.get("evidence") or [])
    resource = json.loads(line.resource or "{}")
    own = ((resource.get("code") or {}).get("coding") or [{}])[0].get("display", "")
    label = own if line.state in ("edited", "added") or not engine.get("label") else engine["label"]
    return {"row": line, "label": label, "rationale": engine.get("rationale", ""),
            "documentation": engine.get("documentation_check") or [
                {"item": d, "present": None, "evidence": []} for d in engine.get("documentation") or []],
            "alternatives": engine.get("alternatives") or [], "step": engine.get("step", ""),
            "evidence": [(ref, described.get(ref)) for ref in refs],
            "difference": json.loads(line.difference) if line.difference else [],
            "resource": resource, "modifiers": line.modifiers.split(),
            "open": line.state in ("pending", "changed"), "decided": line.state in ("approved", "rejected", "edited", "added")}


async def explain_page(request: Request) -> Response:
    ctx = _ctx(request)
    data = await _visible_case(request)
    steps = await in_store(evidence.explanation, ctx, data.case.group_key, data.case.coded_case)
    template = "review/explain_fragment.html" if request.headers.get("hx-request") else "review/explain.html"
    return await render(request, template, title=f"Why: case {data.case.id}", data=data, steps=steps)


# ------------------------------------------------------------------------------------------ decisions
async def decide_line(request: Request) -> Response:
    user = await current_user(request)
    ident = request.path_params["identifier"][:64]
    ctx = _ctx(request)
    found = await in_store(listing.line_practice, ctx.store, ident)
    if found is None:
        raise NotVisible()
    case_id, practice = found
    check_can_see(user, practice)
    form = await request.form()
    action = str(form.get("action", ""))
    change = {k: str(form.get(k, "")) for k in ("code", "modifiers", "quantity") if form.get(k) is not None}
    if action == "add":
        change.setdefault("quantity", "1")
    try:
        await in_store(lambda: decisions.decide(
            ctx, line_key=ident, action=action, actor=user.username, expected_version=_int(str(form.get("version", ""))),
            reason_code=str(form.get("reason_code", "")), reason_text=str(form.get("reason_text", ""))[:2000],
            change=change or None, via="queue"))
    except (Conflict, DecisionRefused, EhrError) as exc:
        return await _refused(request, case_id, exc, ident)
    return _back(case_id, ident, action)


async def approve_all(request: Request) -> Response:
    user = await current_user(request)
    case_id = _int(request.path_params.get("case_id"))
    ctx = _ctx(request)
    practice = await in_store(listing.case_practice, ctx.store, case_id or 0) if case_id else None
    if practice is None:
        raise NotVisible()
    check_can_see(user, practice)
    form = await request.form()
    expected = {k[2:]: int(v) for k, v in form.items() if k.startswith("v:") and str(v).isdigit()}
    try:
        await in_store(lambda: decisions.approve_case(ctx, case_id, user.username, expected or None, via="queue"))
    except (Conflict, DecisionRefused, EhrError) as exc:
        return await _refused(request, case_id, exc, "")
    return _back(case_id, "", "approve-all")


async def _refused(request: Request, case_id: int, exc: Exception, ident: str) -> Response:
    status = 409 if isinstance(exc, Conflict) else 422 if isinstance(exc, DecisionRefused) else 503
    request.path_params["case_id"] = str(case_id)
    prefix = {409: "Not applied: ", 422: "Not applied: ", 503: "Not applied, the EHR did not answer: "}[status]
    return await case_page(request, prefix + str(exc), status, focus=ident)


def _back(case_id: int, ident: str, action: str) -> Response:
    anchor = f"&line={ident}#line-{ident}" if ident else ""
    return RedirectResponse(f"/review/cases/{case_id}?done={action}{anchor}", status_code=303, headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------------------------------ metrics, audit
async def metrics_page(request: Request) -> Response:
    user = await current_user(request)
    store, practices = _ctx(request).store, _practices(user)
    per_rule = await in_store(metrics.acceptance, store, "rule", practices)
    per_code = await in_store(metrics.acceptance, store, "code", practices)
    edits = await in_store(metrics.edits, store, practices)
    days = await in_store(metrics.per_day, store, practices)
    times = await in_store(metrics.review_times, store, practices)
    charts = {
        "rule": plots.stacked_bars("Acceptance per rule", [(a.key, vars(a)) for a in per_rule[:25]]),
        "code": plots.stacked_bars("Acceptance per code", [(a.key, vars(a)) for a in per_code[:25]]),
        "days": plots.columns("Suggestions per day", days),
        "times": plots.histogram("Time to review", times["buckets"]),
    }
    return await render(request, "review/metrics.html", title="Metrics", per_rule=per_rule, per_code=per_code,
                        edits=edits, days=days, times=times, charts=charts)


async def metrics_csv(request: Request) -> Response:
    user = await current_user(request)
    rows = await in_store(metrics.csv_rows, _ctx(request).store, _practices(user))
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={**HEADERS, "Content-Disposition": 'attachment; filename="dwcoder-review-metrics.csv"'})


async def audit_page(request: Request) -> Response:
    user = await current_user(request)
    before = _int(request.query_params.get("before"))
    rows = await in_store(listing.audit_page, _ctx(request).store, _practices(user), before)
    return await render(request, "review/audit.html", title="Audit log", rows=rows,
                        older=rows[-1]["id"] if len(rows) == 100 else None)
