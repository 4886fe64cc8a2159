"""Issue 8: where the reconciler stopped, per source ("orthanc:<pacs>", "qido:<pacs>", "fhir").

    position   Orthanc: the last /changes sequence number read; QIDO-RS and FHIR: the ISO instant the last run
               started (the next run asks from a little before it, so nothing between two runs is missed)
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.store.models import Base, now


class ReconcileState(Base):
    __tablename__ = "reconcile_state"
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


def get_position(session, source: str) -> str:
    row = session.get(ReconcileState, source)
    return row.position if row is not None else ""


def set_position(session, source: str, position: str) -> None:
    row = session.get(ReconcileState, source, with_for_update=True)
    if row is None:
        session.add(ReconcileState(source=source, position=position))
    else:
        row.position = position
