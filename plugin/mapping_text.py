"""The words of mappings/: placeholders in reasons and notices, a notice kind's text for its codes, and the
"did you mean" hint for an unknown name. Below both the loader (mappings.py) and its checks (mapping_checks.py)."""
from __future__ import annotations

import difflib
import re
from typing import Any

PLACEHOLDER = re.compile(r"{(\w+)}")
MESSAGE_WORDS = {"codes", "detail"}  # placeholders notices.yaml may use besides facts


def notice_text(entry: str | dict, codes: list[str]) -> str:
    """The text of a notice kind (notices.yaml) for these codes: by_code (the first code that has one), no_codes
    when there are none, else text."""
    if isinstance(entry, str):
        return entry
    by_code = entry.get("by_code", {})
    hit = next((by_code[c] for c in codes if c in by_code), None)
    return hit or (entry.get("no_codes") if not codes and entry.get("no_codes") else entry["text"])


def did_you_mean(name: str, known: Any) -> str:
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
