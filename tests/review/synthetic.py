"""Many review cases at once, written straight into the review tables (the queue's own rows, as the
pipeline's recomputation writes them), for the paging tests and the queue benchmark. Deterministic by seed."""
from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select

from plugin.store.review import ReviewCase, ReviewLine

CODES = [("D0140", "DWC-EVAL-003"), ("D0365", "DWC-IMG-010"), ("D0367", "DWC-IMG-011"), ("D0393", "DWC-PLAN-012"),
         ("D0801", "DWC-SCAN-001"), ("70486", "DWC-IMG-020"), ("99213", "DWC-EVAL-011"), ("D0330", "DWC-IMG-001")]
NOTICES = ["documentation-required", "same-day-em", "claim-form", "global-period"]
PAYERS = ["Delta Dental", "Aetna", "Cigna", "MetLife", "Medicare", ""]
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def fill(store, cases: int, practice: str, lines_per_case: int = 3, seed: int = 7, batch: int = 2000,
         group_prefix: str = "Patient/synthetic-") -> list[int]:
    """Add `cases` review cases with `lines_per_case` pending lines each; returns their ids (oldest first)."""
    rng = random.Random(seed)
    ids: list[int] = []
    for start in range(0, cases, batch):
        n = min(batch, cases - start)
        rows, lines = [], []
        for i in range(start, start + n):
            at = START + timedelta(minutes=7 * i)
            kinds = sorted(set(rng.sample(NOTICES, rng.randint(0, 2))))
            rows.append({"group_key": f"{group_prefix}{seed}-{i}", "coded_case": f"Encounter/syn-{seed}-{i}",
                         "status": "pending", "open": True, "practice": practice, "claim": rng.choice(["dental", "medical"]),
                         "payer": rng.choice(PAYERS), "service_date": (at.date()).isoformat(),
                         "notice_kinds": (" " + " ".join(kinds) + " ") if kinds else "",
                         "detail": json.dumps({"patient": f"Patient/synthetic-{i}", "notices": [
                             {"kind": k, "codes": [], "message": f"synthetic {k}", "rule": ""} for k in kinds]}),
                         "first_at": at, "updated_at": at})
        with store.transaction() as s:
            s.execute(insert(ReviewCase), rows)
            made = list(s.scalars(select(ReviewCase.id).where(ReviewCase.group_key.in_([r["group_key"] for r in rows]))
                                  .order_by(ReviewCase.first_at, ReviewCase.id)))
            for case_id, row in zip(made, rows):
                for code, rule in rng.sample(CODES, lines_per_case):
                    ident = str(uuid.UUID(hashlib.md5(f"{case_id}/{code}/{seed}".encode()).hexdigest()))
                    line = {"code": code, "label": f"label of {code}", "rule": rule, "rationale": "synthetic line",
                            "evidence": [], "documentation_check": [], "alternatives": []}
                    lines.append({"identifier": ident, "case_id": case_id, "origin": "engine", "state": "pending",
                                  "version": 1, "code": code, "system": "http://www.ada.org/cdt", "modifiers": "",
                                  "quantity": 1, "rule": rule, "suggested_code": code, "resource": "{}", "suggested": "{}",
                                  "digest": ident, "line": json.dumps(line), "difference": "", "reason_code": "",
                                  "reason_text": "", "decided_by": "", "decided_at": None, "suggested_at": row["first_at"]})
            s.execute(insert(ReviewLine), lines)
            lines.clear()
        ids += made
    return ids
