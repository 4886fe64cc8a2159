"""Evidence in, suggestions out: the one coding job behind `dwcoder suggest` and the event pipeline.

Both call `code_evidence` with what the readers gave (the CLI: from files; the pipeline: a case group's
stored evidence), so both assemble and code cases with the same code and give the same lines.
"""
from __future__ import annotations

from plugin import mappings
from plugin.case import assemble
from plugin.engine import service_day, suggest
from plugin.engine.explain import explain as explain_case
from plugin.evidence.model import ReadResult
from plugin.suggestion import Suggestion


def code_evidence(read: ReadResult, practice: str, claim: str | None, extra: tuple[str, ...] = (),
                  explain: bool = False) -> list[Suggestion]:
    """Assemble the evidence into cases and code each with the code set in force on its date of service."""
    base = mappings.load(extra)
    out = []
    for case in assemble(read, practice, claim, base):
        maps = mappings.load_on(extra, case.date)  # the code set in force on the date of service
        out.append(suggest(case, maps))
        if explain:
            out[-1].explanation = explain_case(case, maps, service_day(case, maps))
    if not out and read.problems:
        out.append(Suggestion(case="(none)", claim=claim or "", practice=practice, skipped=[p.as_dict() for p in read.problems]))
    return out
