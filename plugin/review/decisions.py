"""A reviewer's decisions on charge lines, as plain functions (the web pages, CDS Hooks feedback and tests
call these; nothing else writes a decision).

    decide(ctx, line_key=..., action=..., actor=..., expected_version=..., ...) -> Decision
        approve  the line's ChargeItem becomes `billable` in the EHR
        reject   `not-billable`, with a reason from reject_reasons(settings) (+ free text)
        edit     code / modifiers / quantity changed (checked against the code tables), then `billable`
        add      a line added by hand to the case of `line_key` (any line of that case), `billable`
    approve_case(ctx, case_id, actor, ...) -> [Decision]   every open line of a case, in one transaction

`ctx` is the pipeline's Context (settings, store, FHIR client; `plugin.pipeline.context(settings)`); a bare
Store is accepted too (settings then come from the environment). Each decision runs under the case group's
lock (the same lock a recomputation holds, so a decision waits for a running recomputation and the other way
round), checks `expected_version` (the version the reviewer saw; None = do not check) and raises Conflict
when the line moved on, writes the ChargeItem (FHIR server, or the embedded store), appends the audit row
(who, when, before, after, why) and posts a Provenance. All of it commits together or not at all.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from plugin.errors import Conflict, DecisionRefused
from plugin.output.chargeitems import EXT_MODIFIER, LINE_ID_SYSTEM, MODIFIER_SYSTEM
from plugin.review import checks
from plugin.store.cases import lock
from plugin.store.models import Suggestion
from plugin.store.review import DECIDED, ReviewAudit, ReviewCase, ReviewLine

ACTIONS = ("approve", "reject", "edit", "add")
VIAS = ("queue", "cds", "api")
STATUS = {"approve": "billable", "reject": "not-billable", "edit": "billable", "add": "billable"}
STATE = {"approve": "approved", "reject": "rejected", "edit": "edited", "add": "added"}
OPEN = ("pending", "changed")
DEVICE = "digital-workflow-coder"


@dataclass(frozen=True)
class Decision:
    identifier: str       # the charge line (ChargeItem.identifier value)
    case_id: int
    action: str
    state: str            # the line's state now: approved | rejected | edited | added
    version: int          # the line's version now (give it as expected_version next time)
    actor: str
    at: datetime
    audit_id: int
    charge_item_id: str
    status: str           # the ChargeItem's status now
    provenance_id: str


def decide(ctx, *, line_key: str, action: str, actor: str, expected_version: int | None,
           reason_code: str = "", reason_text: str = "", change: dict | None = None, via: str = "queue") -> Decision:
    ctx = _context(ctx)
    _check_args(action, actor, via)
    with ctx.store.transaction() as s:
        line, rcase = _locked_line(s, line_key)
        return _decide_in(ctx, s, line, rcase, action, actor, expected_version, reason_code, reason_text,
                          change or {}, via)


def approve_case(ctx, case_id: int, actor: str, expected_versions: dict[str, int] | None = None,
                 via: str = "queue") -> list[Decision]:
    """Approve every open line (pending or changed) of a review case. With `expected_versions`
    ({identifier: version} as the page showed them), any line that moved on raises Conflict before anything
    is written."""
    ctx = _context(ctx)
    _check_args("approve", actor, via)
    with ctx.store.transaction() as s:
        rcase = s.get(ReviewCase, int(case_id))
        if rcase is None:
            raise DecisionRefused(f"no review case {case_id}", "case")
        lock(s, rcase.group_key)
        lines = _lines(s, rcase.id, lock_rows=True)
        expected = expected_versions or {}
        for line in lines:
            if line.identifier in expected and expected[line.identifier] != line.version:
                raise _conflict(line, expected[line.identifier])
        return [_decide_in(ctx, s, line, rcase, "approve", actor, None, "", "", {}, via)
                for line in lines if line.state in OPEN]


def case_lines(ctx, case_id: int) -> list[ReviewLine]:
    ctx = _context(ctx)
    with ctx.store.sessions() as s:
        return _lines(s, case_id)


# ---------------------------------------------------------------------------------------------- core
def _decide_in(ctx, s, line: ReviewLine, rcase: ReviewCase, action: str, actor: str, expected_version: int | None,
               reason_code: str, reason_text: str, change: dict, via: str) -> Decision:
    if expected_version is not None and int(expected_version) != line.version:
        raise _conflict(line, int(expected_version))
    if action == "reject":
        checks.check_reason(ctx.settings, reason_code, reason_text)
    if action == "add":
        return _add(ctx, s, line, rcase, actor, change, reason_code, reason_text, via)
    if line.state == "withdrawn":
        raise DecisionRefused("the evidence no longer supports this line (withdrawn): nothing to decide", "line")
    before = snapshot(line)
    resource = _base_resource(line)
    if action == "edit":
        resource = _edited(line, resource, change, rcase.service_date, ctx.settings.mappings)
    resource["status"] = STATUS[action]
    up = _write(ctx, s, resource)
    line.resource = json.dumps(resource, sort_keys=True)
    line.state, line.version = STATE[action], line.version + 1
    line.reason_code, line.reason_text = (reason_code, reason_text[:2000]) if action == "reject" else ("", reason_text[:2000])
    line.decided_by, line.decided_at, line.difference = actor[:200], datetime.now(timezone.utc), ""
    _keep_suggestion_in_step(s, line, up)
    return _record(ctx, s, line, rcase, action, actor, via, before, up, reason_code, reason_text)


def _add(ctx, s, sibling: ReviewLine, rcase: ReviewCase, actor: str, change: dict, reason_code: str,
         reason_text: str, via: str) -> Decision:
    code, modifiers, quantity = _wanted(change, None)
    system = checks.check_line(code, modifiers, quantity, rcase.service_date, ctx.settings.mappings)
    ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{LINE_ID_SYSTEM}/manual/{rcase.id}/{uuid.uuid4()}"))
    base = _base_resource(sibling)
    resource = {k: v for k, v in base.items() if k in ("resourceType", "subject", "context", "encounter",
                                                        "occurrenceDateTime", "performingOrganization")}
    resource["identifier"] = [{"system": LINE_ID_SYSTEM, "value": ident}]
    resource = _with_line(resource, code, system, modifiers, quantity)
    resource["note"] = [{"text": f"Added by hand in the reviewer queue by {actor}" + (f": {reason_text}" if reason_text else "")}]
    resource["status"] = "billable"
    up = _write(ctx, s, resource)
    line = ReviewLine(identifier=ident, case_id=rcase.id, origin="manual", state="added", version=1, code=code,
                      system=system, modifiers=" ".join(modifiers), quantity=quantity, rule="", suggested_code="",
                      resource=json.dumps(resource, sort_keys=True), suggested="{}", digest="", line="{}",
                      difference="", reason_code="", reason_text=reason_text[:2000], decided_by=actor[:200],
                      decided_at=datetime.now(timezone.utc))
    s.add(line)
    s.flush()
    return _record(ctx, s, line, rcase, "add", actor, via, {}, up, reason_code, reason_text)


def _record(ctx, s, line: ReviewLine, rcase: ReviewCase, action: str, actor: str, via: str, before: dict, up,
            reason_code: str, reason_text: str) -> Decision:
    entities = list(json.loads(line.line or "{}").get("evidence") or [])
    target = [f"ChargeItem/{up.id}"] if up.id else []
    pid = str(_sink(ctx, s).post_provenance(target, entities, f"{DEVICE} reviewer queue: {STATE[action]} by {actor}")) if target else ""
    audit = ReviewAudit(actor=actor[:200], via=via, action=action, case_id=rcase.id, identifier=line.identifier,
                        rule=line.rule, before=json.dumps(before, sort_keys=True),
                        after=json.dumps(snapshot(line) | {"status": STATUS[action]}, sort_keys=True),
                        reason_code=reason_code[:64], reason_text=reason_text[:2000], provenance_id=pid[:100])
    s.add(audit)
    refresh_case(s, rcase)
    s.flush()
    return Decision(line.identifier, rcase.id, action, line.state, line.version, actor, audit.at or datetime.now(timezone.utc),
                    audit.id, up.id, STATUS[action], pid)


# ---------------------------------------------------------------------------------------------- pieces
def snapshot(line: ReviewLine) -> dict[str, Any]:
    return {"state": line.state, "code": line.code, "modifiers": line.modifiers.split(), "quantity": line.quantity,
            "version": line.version}


def refresh_case(s, rcase: ReviewCase, states: list[str] | None = None) -> None:
    """The case's status from its lines' states (read when not given): returned (a line changed after a
    decision), pending, or done."""
    if states is None:
        states = [st for (st,) in s.execute(select(ReviewLine.state).where(ReviewLine.case_id == rcase.id))]
    status = "returned" if "changed" in states else "pending" if "pending" in states else "done"
    if status != rcase.status:
        rcase.status = status
    rcase.open = status != "done"


def _context(ctx):
    if hasattr(ctx, "store") and hasattr(ctx, "settings"):
        return ctx
    from plugin.context import Context
    from plugin.settings import Settings

    return Context(Settings.from_env(), ctx)


def _check_args(action: str, actor: str, via: str) -> None:
    if action not in ACTIONS:
        raise DecisionRefused(f"unknown action {action!r}: expected one of {', '.join(ACTIONS)}", "action")
    if via not in VIAS:
        raise DecisionRefused(f"unknown channel {via!r}: expected one of {', '.join(VIAS)}", "via")
    if not actor or not actor.strip():
        raise DecisionRefused("a decision needs the reviewer's name", "actor")


def _locked_line(s, line_key: str) -> tuple[ReviewLine, ReviewCase]:
    found = s.execute(select(ReviewLine.case_id, ReviewCase.group_key).join(ReviewCase, ReviewCase.id == ReviewLine.case_id)
                      .where(ReviewLine.identifier == line_key)).first()
    if found is None:
        raise DecisionRefused("no charge line with this identifier in the reviewer queue", "line")
    lock(s, found.group_key)   # the pipeline's per-case lock: waits for a recomputation of the same case
    line = s.scalars(select(ReviewLine).where(ReviewLine.identifier == line_key).with_for_update()
                     .execution_options(populate_existing=True)).one()
    rcase = s.scalars(select(ReviewCase).where(ReviewCase.id == line.case_id).with_for_update()
                      .execution_options(populate_existing=True)).one()
    return line, rcase


def _lines(s, case_id: int, lock_rows: bool = False) -> list[ReviewLine]:
    q = select(ReviewLine).where(ReviewLine.case_id == case_id).order_by(ReviewLine.suggested_at, ReviewLine.identifier)
    if lock_rows:
        q = q.with_for_update().execution_options(populate_existing=True)
    return list(s.scalars(q))


def _conflict(line: ReviewLine, seen: int) -> Conflict:
    who = f" by {line.decided_by}" if line.decided_by else ""
    what = {"changed": "the evidence changed after a decision", "withdrawn": "the evidence no longer supports it",
            "pending": "new evidence changed the suggestion"}.get(line.state, f"it was {line.state}{who}")
    return Conflict(f"this line changed since you saw it (you saw version {seen}, it is now version {line.version}: "
                    f"{what}); nothing was written: look again and decide", line.version, line.decided_by, line.state)


def _base_resource(line: ReviewLine) -> dict:
    """The ChargeItem a decision starts from: the engine's current suggestion, or what a decision wrote."""
    if line.origin == "manual" or line.state == "edited" or line.suggested in ("", "{}"):
        return json.loads(line.resource)
    return json.loads(line.suggested)


def _wanted(change: dict, line: ReviewLine | None) -> tuple[str, list[str], int]:
    code = str(change.get("code", line.code if line else "")).strip()
    mods = change.get("modifiers", line.modifiers.split() if line else [])
    if isinstance(mods, str):
        mods = mods.replace(",", " ").split()
    modifiers = [str(m).strip().upper() for m in mods if str(m).strip()]
    quantity = change.get("quantity", line.quantity if line else 1)
    if isinstance(quantity, str):
        quantity = int(quantity) if quantity.strip().isdigit() else quantity
    if not code:
        raise DecisionRefused("a code is needed", "code")
    return code, modifiers, quantity


def _edited(line: ReviewLine, resource: dict, change: dict, date: str, extra: tuple[str, ...]) -> dict:
    code, modifiers, quantity = _wanted(change, line)
    if (code, modifiers, quantity) == (line.code, line.modifiers.split(), line.quantity):
        raise DecisionRefused("the edit changes nothing (approve the line instead)", "code")
    system = checks.check_line(code, modifiers, quantity, date, extra)
    out = _with_line(resource, code, system, modifiers, quantity)
    was = f"{line.code}{' ' + ' '.join(line.modifiers.split()) if line.modifiers else ''} x{line.quantity}"
    out["note"] = list(resource.get("note") or []) + [{"text": f"Edited in the reviewer queue (was {was})"}]
    line.code, line.system, line.modifiers, line.quantity = code, system, " ".join(modifiers), quantity
    return out


def _with_line(resource: dict, code: str, system: str, modifiers: list[str], quantity: int) -> dict:
    from plugin.mappings import load

    out = dict(resource)
    out["code"] = {"coding": [{"system": system, "code": code, "display": load().label(code)}]}
    out["quantity"] = {"value": quantity}
    others = [e for e in out.get("extension") or [] if e.get("url") != EXT_MODIFIER]
    mods = [{"url": EXT_MODIFIER, "valueCoding": {"system": MODIFIER_SYSTEM, "code": m}} for m in modifiers]
    out["extension"] = mods + others
    if not out["extension"]:
        del out["extension"]
    return out


def _sink(ctx, s):
    if ctx.settings.embedded_ehr:
        from plugin.store.chargeitems import LocalEhr

        return LocalEhr(s)
    return ctx.fhir


def _write(ctx, s, resource: dict):
    """Write the ChargeItem as decided. One a decision already moved on (billable / not-billable) is
    reopened (planned) first, inside the case lock, so the second decision is applied, never lost."""
    sink = _sink(ctx, s)
    up = sink.upsert_charge_item(resource)
    if up.outcome == "held":
        sink.set_charge_item_status(resource["identifier"][0], "planned")
        up = sink.upsert_charge_item(resource)
    return up


def _keep_suggestion_in_step(s, line: ReviewLine, up) -> None:
    """The pipeline's row for an engine line: the ChargeItem is ours again (not 'held'), so an unchanged
    recomputation does not flag the case. Its version_id is cleared: that is the version the PIPELINE last wrote,
    and a reviewer wrote this one, so the pipeline's next write looks at the ChargeItem before touching it."""
    row = s.get(Suggestion, line.identifier)
    if row is not None and line.origin == "engine":
        row.status, row.fhir_id, row.version_id = "active", str(up.id)[:100], ""
