"""The CDS Hooks service's tables (issue 10). Registered with the other tables by one import in models.py.

    cds_jti     every accepted JWT id (per issuer) until the token expires: a second request with the same
                `jti` is a replay and is refused. Rows past their expiry are deleted as new ones come in.
    cds_cards   every card the service answered with: its uuid, the service, the case group, and which charge
                lines (ChargeItem identifiers) each suggestion uuid stands for, with the queue version of each
                line when the card was made. The feedback endpoint maps a card / suggestion uuid back to lines.
                No token and no request body is kept.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import DateTime, Integer, String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from plugin.store.models import Base, now

CARD_KEEP_DAYS = 30


class CdsJti(Base):
    __tablename__ = "cds_jti"
    issuer: Mapped[str] = mapped_column(String(300), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class CdsCard(Base):
    __tablename__ = "cds_cards"
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    service: Mapped[str] = mapped_column(String(100))
    case_key: Mapped[str] = mapped_column(String(300), index=True)   # the pipeline's case group ("Patient/p1")
    coded_case: Mapped[str] = mapped_column(String(300), default="")  # "Encounter/e1"
    suggestions: Mapped[str] = mapped_column(Text, default="{}")     # {suggestion uuid: [line identifier, ...]}
    versions: Mapped[str] = mapped_column(Text, default="{}")        # {line identifier: queue version seen}
    lines: Mapped[int] = mapped_column(Integer, default=0)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


def remember_jti(store, issuer: str, jti: str, expires_at: datetime) -> bool:
    """Record a token id; False when it was seen before (a replay). Expired ids are swept on the way."""
    at = datetime.now(timezone.utc)
    try:
        with store.transaction() as s:
            s.execute(delete(CdsJti).where(CdsJti.expires_at < at))
            s.add(CdsJti(issuer=issuer[:300], jti=jti[:200], expires_at=expires_at))
    except IntegrityError:
        return False
    return True


def save_card(store, uuid: str, service: str, case_key: str, coded_case: str,
              suggestions: dict[str, list[str]], versions: dict[str, int]) -> None:
    """Keep (or refresh) what a card's uuids stand for."""
    lines = len({i for idents in suggestions.values() for i in idents})
    with store.transaction() as s:
        row = s.get(CdsCard, uuid)
        if row is None:
            row = CdsCard(uuid=uuid, service=service)
            s.add(row)
        row.service, row.case_key, row.coded_case = service, case_key[:300], coded_case[:300]
        row.suggestions, row.versions = json.dumps(suggestions, sort_keys=True), json.dumps(versions, sort_keys=True)
        row.lines, row.issued_at = lines, datetime.now(timezone.utc)
        s.execute(delete(CdsCard).where(CdsCard.issued_at < row.issued_at - timedelta(days=CARD_KEEP_DAYS)))


def find_card(store, uuid: str) -> CdsCard | None:
    with store.sessions() as s:
        return s.scalar(select(CdsCard).where(CdsCard.uuid == uuid[:36]))
