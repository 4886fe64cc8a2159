"""The reviewer queue's tables (issue 9). Registered with the other tables by one import in models.py.

    review_cases   one row per coded case (a patient group's Encounter, or its date of service): what the
                   queue lists. status pending (lines await a decision) | returned (evidence changed after a
                   decision: the difference is on its lines) | done; `open` = pending or returned. The
                   filters (claim form, payer, date, notice kinds) are copied here at recomputation time.
    review_lines   one row per charge line the reviewer sees (the engine's, or added by hand): its code,
                   modifiers, quantity, rule, state and `version` (optimistic concurrency: every decision
                   bumps it; a decision made on an older version is refused, never applied).
    review_audit   append-only: who, when, what (action, via), the line before and after, why. Database
                   triggers refuse UPDATE and DELETE on it (SQLite and PostgreSQL).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.store.models import Base, now

LINE_STATES = ("pending", "approved", "rejected", "edited", "added", "changed", "withdrawn")
DECIDED = ("approved", "rejected", "edited", "added")
CASE_STATUSES = ("pending", "returned", "done")


class ReviewCase(Base):
    __tablename__ = "review_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_key: Mapped[str] = mapped_column(String(300), index=True)  # the pipeline's case group ("Patient/p1")
    coded_case: Mapped[str] = mapped_column(String(300), default="")  # "Encounter/e1" or "Patient/p1|2026-10-14"
    status: Mapped[str] = mapped_column(String(16), default="pending")
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    practice: Mapped[str] = mapped_column(String(300), default="")
    claim: Mapped[str] = mapped_column(String(16), default="")
    payer: Mapped[str] = mapped_column(String(200), default="")
    service_date: Mapped[str] = mapped_column(String(10), default="")
    notice_kinds: Mapped[str] = mapped_column(String(500), default="")  # " kind-a kind-b " (space-delimited)
    detail: Mapped[str] = mapped_column(Text, default="{}")  # the engine's Suggestion.as_dict() for the case
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)  # oldest-first order
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)
    __table_args__ = (
        UniqueConstraint("group_key", "coded_case", name="uq_review_cases_group_case"),
        Index("ix_review_cases_open_first", "open", "first_at", "id"),
        Index("ix_review_cases_status_first", "status", "first_at", "id"),
        Index("ix_review_cases_practice", "practice", "open", "first_at", "id"),
        Index("ix_review_cases_practice_status", "practice", "status"),  # counts per status
    )


class ReviewLine(Base):
    __tablename__ = "review_lines"
    identifier: Mapped[str] = mapped_column(String(64), primary_key=True)  # the ChargeItem's charge-line id
    case_id: Mapped[int] = mapped_column(ForeignKey("review_cases.id"), index=True)
    origin: Mapped[str] = mapped_column(String(8), default="engine")  # engine | manual
    state: Mapped[str] = mapped_column(String(16), default="pending")
    version: Mapped[int] = mapped_column(Integer, default=1)
    code: Mapped[str] = mapped_column(String(32), default="")
    system: Mapped[str] = mapped_column(String(200), default="")
    modifiers: Mapped[str] = mapped_column(String(64), default="")  # space-separated
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    rule: Mapped[str] = mapped_column(String(100), default="")
    suggested_code: Mapped[str] = mapped_column(String(32), default="")  # what the engine said (metrics)
    resource: Mapped[str] = mapped_column(Text, default="{}")  # the ChargeItem as last written by a decision
    suggested: Mapped[str] = mapped_column(Text, default="{}")  # the engine's current ChargeItem for the line
    digest: Mapped[str] = mapped_column(String(64), default="")  # of `suggested`
    line: Mapped[str] = mapped_column(Text, default="{}")  # the engine's Line.as_dict()
    difference: Mapped[str] = mapped_column(Text, default="")  # JSON list: what changed after a decision
    reason_code: Mapped[str] = mapped_column(String(64), default="")
    reason_text: Mapped[str] = mapped_column(String(2000), default="")
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    suggested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    __table_args__ = (
        Index("ix_review_lines_code_case", "code", "case_id"),
        Index("ix_review_lines_rule_case", "rule", "case_id"),
        Index("ix_review_lines_state_rule", "state", "rule"),
    )


class ReviewAudit(Base):
    __tablename__ = "review_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    via: Mapped[str] = mapped_column(String(16), default="queue")  # queue | cds | api | pipeline
    action: Mapped[str] = mapped_column(String(16))  # approve | reject | edit | add | returned
    case_id: Mapped[int] = mapped_column(Integer, index=True)
    identifier: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(100), default="")
    before: Mapped[str] = mapped_column(Text, default="{}")  # JSON: state, code, modifiers, quantity, version
    after: Mapped[str] = mapped_column(Text, default="{}")
    reason_code: Mapped[str] = mapped_column(String(64), default="")
    reason_text: Mapped[str] = mapped_column(String(2000), default="")
    provenance_id: Mapped[str] = mapped_column(String(100), default="")
